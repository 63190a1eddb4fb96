#!/usr/bin/env bash
# 0041: streaming while durable.  A slow streamed reply (14 chunks, 400 ms
# apart: longer than the state's HeartbeatSeconds 4, so the worker must
# heartbeat: 5.6 s in one attempt) is visible live through `batonctl
# watch` while the run is still RUNNING; a watcher that disconnects
# resumes with --step/--from and loses nothing; the stream expires after the step; the durable result is
# the completed message.  Then kill -9 of the LLM worker in the middle of
# a slow streamed call: another worker takes the step over, the run
# completes, the watcher shows the retry starting over, and the model
# server served each completed call once -- only the call in flight at the
# kill was repeated.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [
 {"match": "case-watch", "chunks": ["Once ", "upon ", "a ", "time ", "a ", "long ", "run ", "survived ", "every ", "single ", "crash ", "it ", "met", "."],
  "chunk_delay_ms": 400, "usage": {"input": 30, "output": 10}},
 {"match": "case-kill", "times": 2, "chunks": ["Slow ", "and ", "steady ", "wins ", "the ", "race ", "even ", "after ", "a ", "kill."],
  "chunk_delay_ms": 400},
 {"match": "case-quick", "text": "quick answer"}
]}
JSON
model_server_up "$TEST_DIR/script.json"
agents_up
llm_worker_up w-llm-1 --concurrency 4
W1=$LAST_PID
sleep 3 # let the worker join its group

# --- live output -------------------------------------------------------
ctl start llm-call --id t41-watch --input '{"messages":[{"role":"user","content":"case-watch"}]}' >/dev/null
ctl watch t41-watch >"$TEST_DIR/watch-all.out" 2>"$TEST_DIR/watch-all.err" &
WATCH_ALL=$!
# wait_call MATCH: until the model server has received a call of that case
wait_call() {
  local i
  for i in $(seq 1 300); do
    [ "$(jq_py "$(model_calls)" "len([c for c in j['calls'] if c['match'] == '$1'])")" -ge 1 ] && return 0
    sleep 0.1
  done
  fail "no model call for $1 in 30 s"
}
wait_call case-watch
timeout 2 "$BIN/batonctl" -o json watch t41-watch --step 1 >"$TEST_DIR/watch-part.out" 2>&1 || true
[ -s "$TEST_DIR/watch-part.out" ] || fail "no live output within 2 s of the call"
assert_eq "$(ctl describe t41-watch -o json | jq_py "$(cat)" 'j["status"]')" RUNNING "status while text streams"
part=$(/usr/bin/python3 -c 'import json,sys; print("".join(json.loads(l).get("text","") for l in open(sys.argv[1])), end="")' "$TEST_DIR/watch-part.out")
last=$(tail -n 1 "$TEST_DIR/watch-part.out" | jq_py "$(cat)" 'j["id"]')
echo "first watcher saw '$part' (up to $last), then disconnected"
ctl -o json watch t41-watch --step 1 --from "$last" --wait 30 >"$TEST_DIR/watch-rest.out"
rest=$(/usr/bin/python3 -c 'import json,sys; print("".join(json.loads(l).get("text","") for l in open(sys.argv[1])), end="")' "$TEST_DIR/watch-rest.out")
assert_eq "$part$rest" "Once upon a time a long run survived every single crash it met." "text seen across the reconnect"
tail -n 1 "$TEST_DIR/watch-rest.out" | grep -q '"event":"done"' || fail "the resumed watch did not end at done"
out=$(run_out t41-watch)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "Once upon a time a long run survived every single crash it met." "durable result"
wait $WATCH_ALL || fail "batonctl watch of the run failed: $(cat "$TEST_DIR/watch-all.err")"
assert_eq "$(cat "$TEST_DIR/watch-all.out")" "Once upon a time a long run survived every single crash it met." "watch of the whole run"
ttl=$(redis TTL "baton:stream:{t41-watch}:1")
[ "$ttl" -gt 0 ] && [ "$ttl" -le 3600 ] || fail "the step stream should expire (TTL $ttl)"
assert_eq "$(ctl history t41-watch -o json | jq_py "$(cat)" '[e["type"] for e in j if e["type"].startswith("Activity")]')" \
  '["ActivityScheduled", "ActivityCompleted"]' "one attempt: heartbeats kept it alive past HeartbeatSeconds"
pass "live text while RUNNING, resumed after a disconnect, stream expires (TTL $ttl s), result = completed message"

# --- kill -9 of the LLM worker mid-stream ------------------------------
ctl start llm-call --id t41-quick --input '{"messages":[{"role":"user","content":"case-quick"}]}' >/dev/null
assert_eq "$(jq_py "$(run_out t41-quick)" 'j["reply"]["content"]')" "quick answer" "quick run"
ctl start llm-call --id t41-kill --input '{"messages":[{"role":"user","content":"case-kill"}]}' >/dev/null
ctl watch t41-kill >"$TEST_DIR/watch-kill.out" 2>"$TEST_DIR/watch-kill.err" &
WATCH_KILL=$!
wait_call case-kill
sleep 1.5 # a few chunks are out
proc_kill9 "$W1"
echo "w-llm-1 killed during the streamed call"
llm_worker_up w-llm-2 --concurrency 4
out=$(run_out t41-kill 120)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "Slow and steady wins the race even after a kill." "result after the kill"
wait $WATCH_KILL || fail "watch of the killed run failed: $(cat "$TEST_DIR/watch-kill.err")"
grep -q "the reply starts over" "$TEST_DIR/watch-kill.err" || fail "the watcher did not see the retry: $(cat "$TEST_DIR/watch-kill.err")"
assert_eq "$(tail -n 1 "$TEST_DIR/watch-kill.out")" "Slow and steady wins the race even after a kill." "last line the watcher printed"
calls=$(model_calls)
assert_eq "$(jq_py "$calls" '[[c["match"], c["completed"]] for c in j["calls"]]')" \
  '[["case-watch", true], ["case-quick", true], ["case-kill", false], ["case-kill", true]]' "calls served"
done_calls=0
for id in t41-watch t41-quick t41-kill; do
  n=$(ctl history $id -o json | jq_py "$(cat)" 'len([e for e in j if e["type"] == "ActivityCompleted"])')
  done_calls=$((done_calls + n))
done
assert_eq "$(jq_py "$calls" 'j["ok_completed"]')" "$done_calls" "paid calls = completed steps"
assert_no_key
pass "after kill -9 mid-stream the run completed; only the call in flight was served twice"
