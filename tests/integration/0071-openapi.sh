#!/usr/bin/env bash
# 0071: api/openapi.yaml is the contract baton-api keeps.  (a) The file is
# valid OpenAPI 3.0 (the official JSON Schema, vendored in tests/openapi/);
# (b) its operations are exactly the routes the code dispatches (the table
# api_routes of api/routes.c and the fixed paths of api/http.c), and every
# one of them is served (no 404 "no route") on a running baton-api; (c) the
# real answers of a run through the API -- start, describe, list, history,
# result (202 and 200), signal, cancel, terminate, live, definitions, the
# DLQ and its replay, queues, lag, healthz, readyz (200 and 503), metrics,
# and the errors 400, 401, 404 and 413 -- are valid against the schemas
# documented for their status code.  Mutated copies of the file (a wrong
# type, a missing route, a field never sent, a missing status, an invalid
# response object) are each caught by the check.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/api-lib.sh"
if ! /usr/bin/python3 -c 'import yaml, jsonschema' 2>/dev/null; then
  echo "SKIP: python3-yaml or python3-jsonschema missing (scripts/install-deps.sh)"
  exit 77
fi
CHECK="/usr/bin/python3 tests/openapi/check.py"
SPEC=api/openapi.yaml

# (a) and (b) without a server.
$CHECK spec "$SPEC" || fail "api/openapi.yaml is not valid OpenAPI 3.0"
$CHECK routes "$SPEC" api/routes.c api/http.c || fail "the file and the code's routes differ"
$CHECK mutate "$SPEC" "$TEST_DIR/bad-spec.yaml" bad-spec
if $CHECK spec "$TEST_DIR/bad-spec.yaml" 2>"$TEST_DIR/m.err"; then
  fail "a response without its description passed the OpenAPI schema"
fi
grep -q "not OpenAPI 3.0" "$TEST_DIR/m.err" || fail "bad-spec: $(cat "$TEST_DIR/m.err")"
$CHECK mutate "$SPEC" "$TEST_DIR/drop-route.yaml" drop-route
if $CHECK routes "$TEST_DIR/drop-route.yaml" api/routes.c api/http.c 2>"$TEST_DIR/m.err"; then
  fail "a served route missing from the file was not noticed"
fi
grep -q "GET /v1/runs/{id}/live is served" "$TEST_DIR/m.err" || fail "drop-route: $(cat "$TEST_DIR/m.err")"
# A route added to the table but not to the file is noticed too.
sed 's|{"GET",  "/v1/lag", api_h_lag},|&\n    {"GET",  "/v1/extra", api_h_lag},|' api/routes.c >"$TEST_DIR/routes.c"
grep -q '/v1/extra' "$TEST_DIR/routes.c" || fail "could not add a route to a copy of api/routes.c"
if $CHECK routes "$SPEC" "$TEST_DIR/routes.c" api/http.c 2>"$TEST_DIR/m.err"; then
  fail "an undocumented route in the table was not noticed"
fi
grep -q "GET /v1/extra is served" "$TEST_DIR/m.err" || fail "extra route: $(cat "$TEST_DIR/m.err")"
pass "valid OpenAPI 3.0; its operations are the code's routes; mutations caught"

# The stack: the approval gate of api-lib.sh (a Task, then a signal), as in 0070.
api_gate_stack_up 0071

# (b) on the server: every documented operation is served.
$CHECK probe "$SPEC" "$API_URL" "$API_TOKEN" || fail "a documented route is not served"
pass "every documented operation is served; undocumented paths are not"

# (c) A run through the API, every answer captured.
API_CAPTURE=$TEST_DIR/captures.jsonl
export API_CAPTURE
assert_eq "$(api_noauth GET /healthz)" 200 "healthz"
assert_eq "$(api_noauth GET /readyz)" 200 "readyz"
api_capture_url GET /metrics
assert_eq "$(api_noauth GET /v1/runs)" 401 "no token"
assert_eq "$(api POST /v1/runs '{"type":"api-gate","id":"t71-a","input":{"doc":"spec"}}')" 202 "start"
waiting() { [ "$(api GET /v1/runs/$1)" = 200 ] && [ "$(jq_py 'j["position"]')" = WaitForApproval ]; }
wait_until 60 "t71-a to wait for approve" waiting t71-a
assert_eq "$(api GET '/v1/runs?type=api-gate')" 200 "list"
assert_eq "$(api GET '/v1/runs?limit=1')" 200 "list page"
assert_eq "$(api GET /v1/runs/t71-a/history?limit=2)" 200 "history page"
assert_eq "$(api GET '/v1/runs/t71-a/result?wait=0')" 202 "result of an open run"
assert_eq "$(api GET /v1/runs/t71-a/live)" 200 "live of a run without streams"
assert_eq "$(jq_py 'j["steps"]')" "[]" "no streamed steps"
assert_eq "$(api POST /v1/runs/t71-a/signals/approve '{"approved":true}')" 202 "signal"
assert_eq "$(api GET '/v1/runs/t71-a/result?wait=30')" 200 "result"
assert_eq "$(jq_py 'j["status"]')" SUCCEEDED "result status"
assert_eq "$(api GET /v1/runs/t71-a)" 200 "describe a closed run"
assert_eq "$(api GET /v1/runs/t71-a/history)" 200 "whole history"
for id in t71-b t71-c; do
  api POST /v1/runs "{\"type\":\"api-gate\",\"id\":\"$id\"}" >/dev/null
  wait_until 60 "$id to wait" waiting "$id"
done
assert_eq "$(api POST /v1/runs/t71-b/cancel '{"reason":"not needed"}')" 202 "cancel"
assert_eq "$(api POST /v1/runs/t71-c/terminate)" 202 "terminate"
api GET '/v1/runs/t71-b/result?wait=30' >/dev/null
api GET '/v1/runs/t71-c/result?wait=30' >/dev/null
assert_eq "$(jq_py 'j["status"]')" TERMINATED "terminated"
v=$(api GET /v1/runs/t71-a >/dev/null; jq_py 'j["version"]')
assert_eq "$(api GET "/v1/definitions/api-gate?version=$v")" 200 "definition"
# Errors.
assert_eq "$(api POST /v1/runs '{"type": ')" 400 "bad JSON"
assert_eq "$(api GET '/v1/runs?status=bogus')" 400 "bad status"
assert_eq "$(api GET '/v1/runs/t71-a/result?wait=99')" 400 "wait above 60"
assert_eq "$(api GET '/v1/runs/t71-a/live?cursor=nonsense')" 400 "bad live cursor"
assert_eq "$(api GET /v1/runs/t71-nope)" 404 "unknown run"
assert_eq "$(api GET /v1/runs/t71-nope/live)" 404 "live of an unknown run"
assert_eq "$(api GET /v1/nowhere)" 404 "unknown route"
big=$(head -c 5000 /dev/zero | tr '\0' x)
assert_eq "$(api POST /v1/runs "{\"type\":\"api-gate\",\"input\":\"$big\"}")" 413 "oversized body"
# The DLQ: a START of an unknown type is dead-lettered, listed, replayed.
printf '{"kind":"START","workflow_id":"t71-dlq","workflow_type":"t71unknown","payload":"{}"}' \
  | "$BIN/baton-kafka" produce baton.commands --key t71-dlq --json
dlq_has() { [ "$(api GET /v1/dlq)" = 200 ] && [ "$(jq_py 'len(j["records"])')" -ge 1 ]; }
wait_until 30 "a DLQ record" dlq_has
p=$(jq_py 'j["records"][0]["partition"]') o=$(jq_py 'j["records"][0]["offset"]')
assert_eq "$(api POST "/v1/dlq/$p/$o/replay")" 202 "DLQ replay"
assert_eq "$(api POST "/v1/dlq/$p/999999/replay")" 404 "replay of no record"
assert_eq "$(api GET /v1/queues)" 200 "queues"
assert_eq "$(api GET /v1/lag)" 200 "lag"
# readyz 503: a second baton-api on a Redis nobody listens on.
API_URL_MAIN=$API_URL
api_up api-noredis --set redis.url=redis://127.0.0.1:1 --set api.timeout.ms=500
API2=$LAST_PID
assert_eq "$(api_noauth GET /readyz)" 503 "readyz without Redis"
proc_stop "$API2" || fail "the second baton-api did not stop cleanly"
API_URL=$API_URL_MAIN
unset API_CAPTURE

$CHECK responses "$SPEC" "$TEST_DIR/captures.jsonl" >"$TEST_DIR/responses.out" ||
  fail "an answer does not match api/openapi.yaml"
cat "$TEST_DIR/responses.out"
for s in "GET /v1/runs/{id} 200" "GET /v1/runs 200" "GET /v1/runs/{id}/history 200" \
         "GET /v1/runs/{id}/result 200" "GET /v1/runs/{id}/result 202" "POST /v1/runs 202" \
         "POST /v1/runs/{id}/signals/{name} 202" "POST /v1/runs/{id}/cancel 202" \
         "POST /v1/runs/{id}/terminate 202" "GET /v1/runs/{id}/live 200" "GET /v1/dlq 200" \
         "POST /v1/dlq/{partition}/{offset}/replay 202" "GET /v1/queues 200" "GET /v1/lag 200" \
         "GET /healthz 200" "GET /readyz 200" "GET /readyz 503" "GET /metrics 200" \
         "POST /v1/runs 400" "GET /v1/runs 401" "GET /v1/runs/{id} 404" "POST /v1/runs 413" \
         "GET (no route) 404" "GET /v1/definitions/{type} 200"; do
  grep -qxF "  $s" "$TEST_DIR/responses.out" || fail "no answer captured for $s"
done
pass "real answers valid against the documented schemas of their status"

# The check catches a schema that does not match the answers.
for kind in status-type extra-required drop-status; do
  $CHECK mutate "$SPEC" "$TEST_DIR/$kind.yaml" "$kind"
  $CHECK spec "$TEST_DIR/$kind.yaml" >/dev/null || fail "$kind: the mutated copy should still be valid OpenAPI"
  if $CHECK responses "$TEST_DIR/$kind.yaml" "$TEST_DIR/captures.jsonl" 2>"$TEST_DIR/m.err" >/dev/null; then
    fail "the mutation $kind was not caught"
  fi
  echo "$kind caught: $(head -n 1 "$TEST_DIR/m.err" | cut -c1-200)"
done
pass "a wrong type, a field never sent and an undocumented status are caught"

proc_stop "$API" || fail "baton-api exited non-zero on SIGTERM"
