#!/usr/bin/env bash
# 0072: GET /v1/runs/{id}/live, the live model output over HTTP.  A run of
# llm-call streams a slow reply from the scripted model server through
# baton-worker-llm; a poller that passes back each answer's cursor sees the
# text arrive in pieces while the run is RUNNING, gets each piece once, and
# ends with exactly the durable result; batonctl watch (now reading through
# baton_client_live_entries) prints the same text.  A reply cut short and
# retried is replaced, not appended to (restarted, attempt 2).  Then the
# folding rules on entries written with redis-cli in baton-worker-llm's
# format (common/keys.h): an attempt that failed (error), the next attempt
# replacing its text, nothing new after the cursor, a cursor this route
# never returned (400), an unknown run (404).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
source "$(dirname "$0")/api-lib.sh" # its jq_py EXPR (on $API_BODY) from here on
cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [
 {"match": "case-live", "chunks": ["Alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta ", "eta ", "theta."],
  "chunk_delay_ms": 600},
 {"match": "case-cut", "chunks": ["lost ", "words ", "never ", "seen"], "cut_after": 2},
 {"match": "case-cut", "chunks": ["second ", "attempt ", "wins"], "chunk_delay_ms": 100}
]}
JSON
model_server_up "$TEST_DIR/script.json"
agents_up
llm_worker_up w-llm --concurrency 4
sleep 3 # let the worker join its group
api_up api
API=$LAST_PID

# poll_live ID: polls /live with the cursor until the run is closed and a
# poll brings nothing new; folds the steps (restarted: replace, else
# append) into $TEST_DIR/ID.text (the last step's text); counts in
# $TEST_DIR/ID.polls the polls that brought text while RUNNING.
poll_live() {
  local id=$1 cursor= i
  : >"$TEST_DIR/$id.fold"
  # batond makes the run a moment after the START is acknowledged.
  exists() { [ "$(api GET "/v1/runs/$1")" = 200 ]; }
  wait_until 30 "$id in Redis" exists "$id"
  for i in $(seq 1 600); do
    assert_eq "$(api GET "/v1/runs/$id/live?cursor=$cursor")" 200 "live $id"
    cp "$TEST_DIR/api.body" "$TEST_DIR/$id.poll.$i"
    /usr/bin/python3 - "$TEST_DIR/api.body" "$TEST_DIR/$id.fold" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
try:
    fold = json.load(open(sys.argv[2]))
except ValueError:
    fold = {"steps": {}, "running_polls": 0, "attempts": []}
for s in j["steps"]:
    cur = fold["steps"].get(s["seq"], "")
    fold["steps"][s["seq"]] = s["text"] if s["restarted"] else cur + s["text"]
    fold["attempts"].append([s["seq"], s["attempt"], s["restarted"], s["done"], s["error"]])
    if s["text"] and j["status"] == "RUNNING":
        fold["running_polls"] += 1
fold["status"] = j["status"]
fold["new"] = len(j["steps"])
json.dump(fold, open(sys.argv[2], "w"))
PY
    cursor=$(jq_py 'j["cursor"]')
    local st new
    st=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$TEST_DIR/$id.fold")
    new=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["new"])' "$TEST_DIR/$id.fold")
    [ "$st" != RUNNING ] && [ "$new" = 0 ] && return 0
    sleep 0.2
  done
  fail "the live output of $id did not end"
}
fold_get() { /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$TEST_DIR/$1.fold" "$2"; }
reply_of() { ctl result "$1" --wait 60 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["reply"]["content"])'; }

# 1. A slow streamed reply, polled while it streams.
assert_eq "$(api POST /v1/runs '{"type":"llm-call","id":"t72-live","input":{"messages":[{"role":"user","content":"case-live"}]}}')" 202 "start"
poll_live t72-live
final=$(reply_of t72-live)
assert_eq "$final" "Alpha beta gamma delta epsilon zeta eta theta." "durable result"
assert_eq "$(fold_get t72-live 'j["steps"]["1"]')" "$final" "text folded from the polls"
n=$(fold_get t72-live 'j["running_polls"]')
[ "$n" -ge 3 ] || fail "only $n polls brought text while the run was RUNNING"
assert_eq "$(fold_get t72-live '[a[1] for a in j["attempts"]] == [1]*len(j["attempts"])')" True "one attempt"
assert_eq "$(fold_get t72-live 'j["attempts"][-1][3]')" True "the last poll with text says done"
assert_eq "$(api GET /v1/runs/t72-live/live)" 200 "live from the start"
assert_eq "$(jq_py '[[s["seq"], s["attempt"], s["text"], s["done"], s["error"], s["restarted"]] for s in j["steps"]]')" \
  "[[\"1\", 1, \"$final\", true, null, true]]" "the whole output from the start"
assert_eq "$(ctl watch t72-live 2>/dev/null)" "$final" "batonctl watch prints the same text"
pass "the text arrived in $n polls while RUNNING, each piece once, = the durable result and batonctl watch"

# 2. A stream cut short and retried: the poller ends with attempt 2's text.
assert_eq "$(api POST /v1/runs '{"type":"llm-call","id":"t72-cut","input":{"messages":[{"role":"user","content":"case-cut"}]}}')" 202 "start cut"
poll_live t72-cut
assert_eq "$(reply_of t72-cut)" "second attempt wins" "result after the cut"
assert_eq "$(fold_get t72-cut 'j["steps"]["1"]')" "second attempt wins" "the retry replaced the cut text"
assert_eq "$(api GET /v1/runs/t72-cut/live)" 200 "live of the cut run"
assert_eq "$(jq_py '[[s["attempt"], s["text"], s["done"], s["restarted"]] for s in j["steps"]]')" \
  '[[2, "second attempt wins", true, true]]' "from the start: the last attempt only"
pass "a reply cut short and retried is replaced (attempt 2)"

# 3. Folding rules, on entries written as baton-worker-llm writes them
#    (common/keys.h) for a step 90 of the closed run t72-live.
IDX='baton:stream:{t72-live}'
STEP='baton:stream:{t72-live}:90'
assert_eq "$(api GET /v1/runs/t72-live/live)" 200 "before step 90"
c0=$(jq_py 'j["cursor"]')
redis XADD "$IDX" '*' seq 90 attempt 1 >/dev/null
redis XADD "$STEP" '*' event start attempt 1 >/dev/null
redis XADD "$STEP" '*' text 'half an ' >/dev/null
redis XADD "$STEP" '*' event error error Timeout >/dev/null
assert_eq "$(api GET "/v1/runs/t72-live/live?cursor=$c0")" 200 "after the failed attempt"
assert_eq "$(jq_py '[[s["seq"], s["attempt"], s["text"], s["done"], s["error"], s["restarted"]] for s in j["steps"]]')" \
  '[["90", 1, "half an ", false, "Timeout", true]]' "only the new step, its attempt failed"
c1=$(jq_py 'j["cursor"]')
redis XADD "$IDX" '*' seq 90 attempt 2 >/dev/null
redis XADD "$STEP" '*' event start attempt 2 >/dev/null
redis XADD "$STEP" '*' text 'whole ' >/dev/null
assert_eq "$(api GET "/v1/runs/t72-live/live?cursor=$c1")" 200 "the next attempt"
assert_eq "$(jq_py '[[s["seq"], s["attempt"], s["text"], s["done"], s["error"], s["restarted"]] for s in j["steps"]]')" \
  '[["90", 2, "whole ", false, null, true]]' "a new attempt restarts the text"
c2=$(jq_py 'j["cursor"]')
redis XADD "$STEP" '*' text 'answer' >/dev/null
redis XADD "$STEP" '*' event done >/dev/null
assert_eq "$(api GET "/v1/runs/t72-live/live?cursor=$c2")" 200 "the rest"
assert_eq "$(jq_py '[[s["seq"], s["attempt"], s["text"], s["done"], s["error"], s["restarted"]] for s in j["steps"]]')" \
  '[["90", 2, "answer", true, null, false]]' "appended, done"
c3=$(jq_py 'j["cursor"]')
assert_eq "$(api GET "/v1/runs/t72-live/live?cursor=$c3")" 200 "nothing new"
assert_eq "$(jq_py 'j["steps"]')" "[]" "nothing new after the cursor"
assert_eq "$(jq_py 'j["cursor"]')" "$c3" "the cursor stays"
assert_eq "$(api GET "/v1/runs/t72-live/live?cursor=1-0,x:1:2-0")" 400 "a forged cursor"
assert_eq "$(jq_py 'j["error"]["code"]')" bad_request "forged cursor code"
assert_eq "$(api GET /v1/runs/t72-nope/live)" 404 "unknown run"
assert_eq "$(jq_py 'j["error"]["code"]')" not_found "unknown run code"
pass "folding: a failed attempt, the next one replacing it, appends, nothing new, 400, 404"

proc_stop "$API" || fail "baton-api exited non-zero on SIGTERM"
