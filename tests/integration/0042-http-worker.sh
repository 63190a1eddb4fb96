#!/usr/bin/env bash
# 0042: baton-worker-http against a loopback API that dedupes by
# Idempotency-Key: a secret named in the task reaches the server from the
# worker's environment and is redacted from the result; hosts outside the
# allow-list, secrets the operator did not list, 4xx and oversized
# responses are final errors (caught, no retry); a 429 with Retry-After is
# retried after the hint with the same Idempotency-Key; and a kill -9 of
# the worker after the API applied a charge but before it answered makes
# the activity run again, with the same key, so the charge is applied once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
tool_server_up
agents_up
http_worker_up w-http-1 --concurrency 4
W1=$LAST_PID
sleep 3
start() { ctl start http-call --id "$1" --input "$2" >/dev/null; }
stats() { curl -s "$TOOL_URL/stats"; }

start t42-echo "{\"method\":\"PUT\",\"url\":\"$TOOL_URL/echo\",\"headers\":{\"Authorization\":{\"secret\":\"CRM_TOKEN\",\"prefix\":\"Bearer \"},\"X-Trace\":\"t42\"},\"body\":{\"a\":1},\"tag\":{\"call\":7}}"
start t42-host '{"url":"http://example.com/x"}'
start t42-secret "{\"url\":\"$TOOL_URL/echo\",\"headers\":{\"X\":{\"secret\":\"HOME\"}}}"
start t42-404 "{\"url\":\"$TOOL_URL/nothing-here\"}"
start t42-big "{\"url\":\"$TOOL_URL/big?n=70000\"}"
start t42-flaky "{\"url\":\"$TOOL_URL/flaky?n=1\"}"

out=$(run_out t42-echo)
assert_eq "$(jq_py "$out" '[j["response"]["status"], j["response"]["body"]["method"], j["response"]["body"]["body"], j["response"]["tag"]]')" \
  '[200, "PUT", "{\"a\":1}", {"call": 7}]' "echo"
assert_eq "$(jq_py "$out" 'j["response"]["body"]["headers"]["Authorization"]')" "Bearer [redacted]" "secret redacted in the result"
assert_eq "$(jq_py "$out" 'j["response"]["body"]["headers"]["Idempotency-Key"]')" "t42-echo/1" "Idempotency-Key sent"
assert_eq "$(jq_py "$(stats)" 'j["auth"]')" "[\"Bearer $CRM_TOKEN\"]" "the server got the real secret"
pass "method, headers, JSON body, tag; the secret reached the API and not the result"

for c in "t42-host HTTP.HostNotAllowed" "t42-secret HTTP.BadTask" "t42-404 HTTP.BadRequest" "t42-big HTTP.ResponseTooLarge"; do
  set -- $c
  out=$(run_out "$1")
  assert_eq "$(jq_py "$out" 'j["error"]["Error"]')" "$2" "error of $1"
  assert_eq "$(ctl history "$1" -o json | jq_py "$(cat)" 'len([e for e in j if e["type"] == "ActivityScheduled"])')" 1 "attempts of $1"
  echo "$1: $(jq_py "$out" 'j["error"]["Cause"]')"
done
pass "host not allowed, unlisted secret, 404, response over the cap: final, one attempt each"

out=$(run_out t42-flaky)
assert_eq "$(jq_py "$out" 'j["response"]["body"]')" '{"ok": true, "after": 1}' "flaky then ok"
assert_eq "$(jq_py "$(stats)" 'j["seen"]["t42-flaky/1"]')" 2 "requests with the step's key"
hist=$(ctl history t42-flaky -o json)
assert_eq "$(jq_py "$hist" '[e["data"].get("retry_after_ms") for e in j if e["type"] == "ActivityFailed"]')" "[2000]" "retry hint"
pass "429 retried after Retry-After with the same Idempotency-Key"

# kill -9 after the API applied the charge, before it answered
start t42-charge "{\"url\":\"$TOOL_URL/charge?delay_ms=4000\",\"body\":{\"amount\":42}}"
for i in $(seq 1 100); do
  [ "$(jq_py "$(stats)" 'j["applied"].get("t42-charge/1", 0)')" = 1 ] && break
  sleep 0.1
done
assert_eq "$(jq_py "$(stats)" 'j["applied"].get("t42-charge/1", 0)')" 1 "charge applied before the kill"
proc_kill9 "$W1"
echo "w-http-1 killed while waiting for the charge's answer"
http_worker_up w-http-2 --concurrency 4
out=$(run_out t42-charge 120)
assert_eq "$(jq_py "$out" '[j["response"]["body"]["charged"], j["response"]["body"]["replayed"]]')" "[42, true]" "replayed answer"
s=$(stats)
assert_eq "$(jq_py "$s" '[j["seen"]["t42-charge/1"], j["applied"]["t42-charge/1"]]')" "[2, 1]" "requests and charges for the step"
if grep -rl --include='*.log' --include='*.out' -- "$CRM_TOKEN" "$TEST_DIR"; then fail "the secret is in the files above"; fi
for id in t42-echo t42-charge; do ctl history $id -o json | grep -q -- "$CRM_TOKEN" && fail "secret in the history of $id"; done
pass "the activity ran twice across the kill; the API applied the charge once (same Idempotency-Key)"
