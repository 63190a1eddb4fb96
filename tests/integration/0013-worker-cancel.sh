#!/usr/bin/env bash
# 0013: the worker SDK's side of issue 4, without batond: tasks produced by
# hand to baton.tasks.default, cancellation notices to baton.cancels, and
# the worker's answers read off baton.results.
#  - a running task named by a notice stops early and answers
#    FAILED Baton.Cancelled; a task whose notice came first never runs;
#  - heartbeats go to baton.results, throttled to one per
#    heartbeat_seconds/3, the latest details always sent; the handler sees
#    the heartbeat_details its task carried;
#  - a retry-after hint and a non-retryable failure reach the Result.
# baton.cancels does not exist when the worker starts (the dev stack does
# not create it): the first notice creates it, so the worker's listener
# must find a topic that appears later.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 2 default
EXEC=$TEST_DIR/exec.log
worker_up worker --concurrency 2 --exec-log "$EXEC" --start-log "$TEST_DIR/start.log"
WORKER=$LAST_PID
wait_until 60 "the worker to join its group and get partitions" worker_assigned "$TEST_DIR/worker.log"

kafka() { "$BIN/baton-kafka" "$@"; }
# task WF TYPE INPUT [HEARTBEAT_SECONDS [HEARTBEAT_DETAILS]]: a JSON task,
# attempt 1 of activity 1 of workflow WF.
task() {
  /usr/bin/python3 - "$@" <<'PY' | kafka produce baton.tasks.default --key "$1" --json
import json, sys
wf, typ, inp = sys.argv[1:4]
hb = int(sys.argv[4]) if len(sys.argv) > 4 else 0
det = sys.argv[5] if len(sys.argv) > 5 else None
print(json.dumps({"task_id": f"{wf}/1/1", "idempotency_key": f"{wf}/1",
                  "workflow_id": wf, "activity_seq": 1, "attempt": 1,
                  "activity_type": typ, "queue": "default", "input": inp,
                  "result_partition": 0, "heartbeat_seconds": hb,
                  "heartbeat_details": det}), end="")
PY
}
cancel() {
  printf '{"kind":"CANCEL","workflow_id":"%s","task_id":"%s/1/1","reason":"test"}' "$1" "$1" \
    | kafka produce baton.cancels --key "$1" --json
}
# results WF KIND [SECONDS]: waits until baton.results holds a KIND result of
# WF's task, then prints every result of WF (one JSON per line).
results() {
  local wf=$1 kind=$2 secs=${3:-20} i out
  for i in $(seq 1 "$secs"); do
    out=$(kafka consume baton.results --timeout 1 2>/dev/null | /usr/bin/python3 -c '
import json, sys
lines = sys.stdin.read().split("\n")
for value in lines[1::2]:
    try:
        r = json.loads(value)
    except ValueError:
        continue
    if r.get("workflow_id") == sys.argv[1]:
        print(json.dumps(r))' "$wf")
    if grep -q "\"kind\": \"$kind\"" <<<"$out"; then echo "$out"; return 0; fi
  done
  echo "$out"
  return 1 # callers fail the test with this output
}
field() { /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1]).get(sys.argv[2])))' "$1" "$2"; }

# 1. A running task is cancelled: sleep 30 s, cancelled after ~2 s.
task t13-run sleep '{"ms":30000}'
wait_until 60 "t13-run to start on the worker" grep -q '^t13-run/1/1 ' "$TEST_DIR/start.log"
cancel t13-run
res=$(results t13-run FAILED 25) || fail "no result for the cancelled task: $res"
assert_eq "$(field "$res" error)" '"Baton.Cancelled"' "error of the cancelled task"
line=$(grep '^t13-run/1/1 ' "$EXEC") || fail "the cancelled task's execution is not logged"
ran=$(awk '{print $4 - $3}' <<<"$line")
[ "$ran" -lt 15000 ] || fail "the cancelled handler ran $ran ms, not stopped early"
pass "a running task stopped $ran ms after it started on a cancellation notice; answered Baton.Cancelled"

# 2. A task cancelled before it is fetched never runs.
cancel t13-early
wait_until 30 "the worker's listener to receive the notice for t13-early" \
  grep -q 'cancellation notice for task t13-early/1/1' "$TEST_DIR/worker.log"
task t13-early sleep '{"ms":100}'
res=$(results t13-early FAILED 20) || fail "no result for the task cancelled early: $res"
assert_eq "$(field "$res" error)" '"Baton.Cancelled"' "error of the task cancelled early"
if grep -q '^t13-early/' "$EXEC"; then fail "the task cancelled before it started ran"; fi
pass "a task whose notice came first was answered Baton.Cancelled without running"

# 3. Heartbeats: every 100 ms for 2.5 s, heartbeat_seconds 3 -> at most one
# per second leaves (t = 0, 1, 2 s), the last with recent progress; the
# handler reports the details its task carried.
task t13-hb heartbeat '{"ms":2500,"every_ms":100}' 3 '{"progress":7}'
res=$(results t13-hb COMPLETED 20) || fail "no completion of the heartbeat task: $res"
/usr/bin/python3 - "$res" <<'PY' || fail "heartbeats: $res"
import json, sys
rs = [json.loads(l) for l in sys.argv[1].splitlines()]
hbs = [r for r in rs if r["kind"] == "HEARTBEAT"]
done = [r for r in rs if r["kind"] == "COMPLETED"][0]
out = json.loads(done["output"])
progress = [json.loads(h["output"])["progress"] for h in hbs]
print(f"heartbeats sent {len(hbs)} of {out['heartbeats']} calls, progress {progress}")
assert 2 <= len(hbs) <= 4, "throttle: want 2..4 heartbeats in 2.5 s"
assert out["heartbeats"] >= 20, "the handler heartbeats every 100 ms"
assert progress[0] == 1 and progress == sorted(progress)
assert progress[-1] >= 15, "the latest details are sent, not the first held back"
assert out["heartbeat_details"] == {"progress": 7}, out
PY
pass "heartbeats throttled to one per heartbeat_seconds/3 with the latest details; heartbeat_details reach the handler"

# 4. A retry-after hint and a non-retryable failure.
task t13-rl ratelimit '{"times":1,"retry_after_ms":30000}'
task t13-fatal fatal '{"error":"Payment.Declined"}'
res=$(results t13-rl FAILED 20) || fail "no rate-limit failure: $res"
assert_eq "$(field "$res" error)" '"RateLimited"' "rate-limit error"
assert_eq "$(field "$res" retry_after_ms)" 30000 "retry_after_ms"
assert_eq "$(field "$res" non_retryable)" false "non_retryable of a rate limit"
res=$(results t13-fatal FAILED 20) || fail "no fatal failure: $res"
assert_eq "$(field "$res" error)" '"Payment.Declined"' "fatal error"
assert_eq "$(field "$res" non_retryable)" true "non_retryable"
pass "retry_after_ms and non_retryable reach the Result"

kill -0 "$WORKER" || fail "the worker died"
proc_stop "$WORKER" || fail "the worker did not stop cleanly"
pass "the worker stops cleanly"
