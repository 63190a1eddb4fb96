#!/usr/bin/env bash
# 0070: baton-api on the real stack.  A run with an approval gate (a Task,
# then a wait for the signal 'approve') is started over HTTP, seen waiting
# with GET /v1/runs/{id}, approved with ONE call (POST .../signals/approve)
# and its result long-polled; list filters and cursor paging; history
# paging; cancel and terminate; 401 without the token; the JSON error codes
# of an unknown run, bad JSON and an oversized body; health and readiness.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/api-lib.sh"
api_gate_stack_up 0070

# Health and readiness need no token.
assert_eq "$(api_noauth GET /healthz)" 200 "/healthz"
assert_eq "$(api_noauth GET /readyz)" 200 "/readyz"
assert_eq "$(jq_py 'j["status"]')" ready "/readyz status"
pass "/healthz and /readyz answer without a token"

# 401 without the token, or with a wrong one.
assert_eq "$(api_noauth GET /v1/runs)" 401 "no token"
assert_eq "$(jq_py 'j["error"]["code"]')" unauthorized "error code without token"
assert_eq "$(API_TOKEN=wrong-$API_TOKEN api GET /v1/runs)" 401 "wrong token"
pass "every /v1/ route wants the bearer token"

# 1. Start, see it waiting, approve with one call, long-poll the result.
assert_eq "$(api POST /v1/runs '{"type":"api-gate","id":"t70-a","input":{"doc":"spec"}}')" 202 "start"
assert_eq "$(jq_py 'j["id"]')" t70-a "start answer id"
assert_eq "$(jq_py 'j["type"]')" api-gate "start answer type"
waiting() {
  [ "$(api GET /v1/runs/t70-a)" = 200 ] &&
    [ "$(jq_py '(j.get("pending") or {}).get("name")')" = approve ]
}
wait_until 60 "t70-a to wait for approve" waiting
assert_eq "$(jq_py 'j["status"]')" RUNNING "waiting status"
assert_eq "$(jq_py 'j["position"]')" WaitForApproval "waiting position"
assert_eq "$(api GET '/v1/runs/t70-a/result?wait=1')" 202 "result of an open run"
assert_eq "$(jq_py 'j["status"]')" RUNNING "open run result status"
assert_eq "$(api POST /v1/runs/t70-a/signals/approve '{"approved":true,"by":"ana"}')" 202 "approve"
assert_eq "$(jq_py 'j["signal"]')" approve "signal answer"
assert_eq "$(api GET '/v1/runs/t70-a/result?wait=30')" 200 "long-polled result"
assert_eq "$(jq_py 'j["status"]')" SUCCEEDED "result status"
assert_eq "$(jq_py 'j["output"]["approval"]["by"]')" ana "signal payload in the output"
assert_eq "$(jq_py 'j["output"]["doc"]')" spec "input in the output"
pass "started, seen waiting, approved with one call, result long-polled"

# The long poll blocks only its own connection.
api GET /v1/runs/t70-a/result >/dev/null
assert_eq "$(api POST /v1/runs '{"type":"api-gate","id":"t70-slow"}')" 202 "start t70-slow"
( api GET '/v1/runs/t70-slow/result?wait=8' >"$TEST_DIR/slow.code" ) &
SLOW=$!
sleep 0.5
t0=$(date +%s%3N)
assert_eq "$(api GET /healthz)" 200 "healthz during a long poll"
assert_eq "$(api GET /v1/runs/t70-a)" 200 "describe during a long poll"
t1=$(date +%s%3N)
[ $((t1 - t0)) -lt 3000 ] || fail "requests waited for a long poll: $((t1 - t0)) ms"
wait $SLOW
assert_eq "$(cat "$TEST_DIR/slow.code")" 202 "long poll that ran out"
pass "a long-polled result does not block other requests"

# 2. A rejection fails the run; cancel and terminate.
api POST /v1/runs '{"type":"api-gate","id":"t70-b"}' >/dev/null
api POST /v1/runs '{"type":"api-gate","id":"t70-c"}' >/dev/null
api POST /v1/runs '{"type":"api-gate","id":"t70-d"}' >/dev/null
for id in t70-b t70-c t70-d; do
  w() { [ "$(api GET /v1/runs/$1)" = 200 ] && [ "$(jq_py 'j["position"]')" = WaitForApproval ]; }
  wait_until 60 "$id to wait" w "$id"
done
assert_eq "$(api POST /v1/runs/t70-b/signals/approve '{"approved":false}')" 202 "reject"
assert_eq "$(api POST /v1/runs/t70-c/cancel '{"reason":"not needed"}')" 202 "cancel"
assert_eq "$(api POST /v1/runs/t70-d/terminate)" 202 "terminate"
api GET '/v1/runs/t70-b/result?wait=30' >/dev/null
assert_eq "$(jq_py 'j["status"]')" FAILED "rejected run"
assert_eq "$(jq_py 'j["error"]')" Rejected "rejected run error"
api GET '/v1/runs/t70-c/result?wait=30' >/dev/null
assert_eq "$(jq_py 'j["status"]')" CANCELLED "cancelled run"
api GET '/v1/runs/t70-d/result?wait=30' >/dev/null
assert_eq "$(jq_py 'j["status"]')" TERMINATED "terminated run"
assert_eq "$(ctl result t70-c 2>&1 | grep -c cancelled || true)" 1 "batonctl sees the cancel"
pass "reject, cancel and terminate over HTTP"

# 3. List: filters and cursor paging.
assert_eq "$(api GET '/v1/runs?status=running')" 200 "list running"
assert_eq "$(jq_py '[r["id"] for r in j["runs"]]')" '["t70-slow"]' "running runs"
assert_eq "$(api GET '/v1/runs?type=api-gate&status=SUCCEEDED')" 200 "list succeeded"
assert_eq "$(jq_py '[r["id"] for r in j["runs"]]')" '["t70-a"]' "succeeded runs"
assert_eq "$(api GET '/v1/runs?type=nope')" 200 "list unknown type"
assert_eq "$(jq_py 'len(j["runs"])')" 0 "runs of an unknown type"
seen=()
cursor=
while :; do
  assert_eq "$(api GET "/v1/runs?type=api-gate&limit=2&cursor=$cursor")" 200 "list page"
  n=$(jq_py 'len(j["runs"])')
  [ "$n" -le 2 ] || fail "page of $n runs with limit=2"
  seen+=($(jq_py '" ".join(r["id"] for r in j["runs"])'))
  cursor=$(jq_py 'j["next_cursor"] or ""')
  [ -n "$cursor" ] || break
done
assert_eq "${seen[*]}" "t70-a t70-b t70-c t70-d t70-slow" "runs over the pages"
assert_eq "$(api GET '/v1/runs?status=bogus')" 400 "bad status filter"
assert_eq "$(jq_py 'j["error"]["code"]')" bad_request "bad status code"
pass "list filters by status and type and pages with a cursor"

# 4. History paging: the pages put together are the whole history.
api GET '/v1/runs/t70-a/history?limit=1000' >/dev/null
all=$(jq_py '[e["seq"] for e in j["events"]]')
assert_eq "$(jq_py 'j["next"]')" null "next after the whole history"
from=1 got=()
while :; do
  assert_eq "$(api GET "/v1/runs/t70-a/history?from=$from&limit=3")" 200 "history page"
  got+=($(jq_py '" ".join(str(e["seq"]) for e in j["events"])'))
  from=$(jq_py 'j["next"]')
  [ "$from" != null ] || break
done
assert_eq "[$(IFS=,; echo "${got[*]}" | sed 's/,/, /g')]" "$all" "history pages"
[ "${#got[@]}" -gt 3 ] || fail "history too short to page: ${got[*]}"
pass "history pages by seq (${#got[@]} events)"

# 5. Error codes.
assert_eq "$(api GET /v1/runs/t70-nope)" 404 "unknown run"
assert_eq "$(jq_py 'j["error"]["code"]')" not_found "unknown run code"
assert_eq "$(api GET /v1/runs/t70-nope/history)" 404 "history of an unknown run"
assert_eq "$(api POST /v1/runs '{"type": ')" 400 "bad JSON"
assert_eq "$(jq_py 'j["error"]["code"]')" bad_request "bad JSON code"
assert_eq "$(api POST /v1/runs '{"id":"x"}')" 400 "start without type"
big=$(head -c 5000 /dev/zero | tr '\0' x)
assert_eq "$(api POST /v1/runs "{\"type\":\"api-gate\",\"input\":\"$big\"}")" 413 "oversized body"
assert_eq "$(jq_py 'j["error"]["code"]')" payload_too_large "oversized body code"
assert_eq "$(api GET /v1/nowhere)" 404 "unknown route"
assert_eq "$(api GET '/v1/runs/t70-a/result?wait=99')" 400 "wait above 60"
pass "JSON errors: not_found, bad_request, payload_too_large"

# 6. The definition a run names; the console is served at /.
v=$(api GET /v1/runs/t70-a >/dev/null; jq_py 'j["version"]')
assert_eq "$(api GET "/v1/definitions/api-gate?version=$v")" 200 "definition by version"
assert_eq "$(jq_py 'j["definition"]["StartAt"]')" Prepare "definition text"
assert_eq "$(api GET /v1/definitions/api-gate)" 200 "current definition"
assert_eq "$(jq_py 'j["version"]')" "$v" "current version"
pass "definitions by version and the current one"

# 7. The DLQ: a START of a type batond does not know is dead-lettered,
#    listed over HTTP and replayed (dead-lettered again: one more record).
printf '{"kind":"START","workflow_id":"t70-dlq","workflow_type":"t70unknown","payload":"{}"}' \
  | "$BIN/baton-kafka" produce baton.commands --key t70-dlq --json
dlq_has() { [ "$(api GET /v1/dlq)" = 200 ] && [ "$(jq_py 'len(j["records"])')" -ge "$1" ]; }
wait_until 30 "a DLQ record" dlq_has 1
assert_eq "$(jq_py 'j["records"][0]["key"]')" t70-dlq "DLQ record key"
assert_eq "$(jq_py 'j["records"][0]["source_topic"]')" baton.commands "DLQ record source"
p=$(jq_py 'j["records"][0]["partition"]') o=$(jq_py 'j["records"][0]["offset"]')
assert_eq "$(api POST "/v1/dlq/$p/$o/replay")" 202 "DLQ replay"
assert_eq "$(jq_py 'j["topic"]')" baton.commands "replayed to"
wait_until 30 "the replayed record dead-lettered again" dlq_has 2
assert_eq "$(api POST "/v1/dlq/$p/999999/replay")" 404 "replay of no record"
assert_eq "$(api GET '/v1/dlq?limit=1')" 200 "DLQ limit"
assert_eq "$(jq_py 'len(j["records"])')" 1 "DLQ records with limit=1"
pass "DLQ listed and replayed over HTTP"

# 8. Lag and queues.
assert_eq "$(api GET /v1/lag)" 200 "lag"
assert_eq "$(jq_py 'any(r["group"] == "baton.worker.default" for r in j["partitions"])')" true "worker group in lag"
assert_eq "$(api GET /v1/queues)" 200 "queues"
assert_eq "$(jq_py '[q["queue"] for q in j["queues"]]')" '["default"]' "queues"
pass "lag and queues"

# 9. /metrics: Prometheus text, no token, requests counted by route pattern
#    (never by run id), checked by promtool.
curl -sf "$API_URL/metrics" >"$TEST_DIR/api.metrics" || fail "GET /metrics"
promtool check metrics <"$TEST_DIR/api.metrics" || fail "promtool rejects baton-api's /metrics"
grep -q '^baton_build_info{.*program="baton-api"' "$TEST_DIR/api.metrics" || fail "no baton_build_info"
n=$(awk '/^baton_api_requests_total\{.*route="\/v1\/runs\/\{id\}\/signals\/\{name\}".*code="202"/ {s+=$2} END {print s+0}' "$TEST_DIR/api.metrics")
[ "$n" -ge 1 ] || fail "signals not counted: $(grep requests_total "$TEST_DIR/api.metrics" | head)"
if grep -q 't70-' "$TEST_DIR/api.metrics"; then fail "a run id in a metric label"; fi
n401=$(awk '/^baton_api_requests_total\{.*code="401"/ {s+=$2} END {print s+0}' "$TEST_DIR/api.metrics")
[ "$n401" -ge 2 ] || fail "401 answers not counted ($n401)"
pass "/metrics counts requests by route pattern and status"

proc_stop "$API" || fail "baton-api exited non-zero on SIGTERM"
pass "baton-api stops on SIGTERM with status 0"
