#!/usr/bin/env bash
# 0014: the failure model of an activity and a workflow through the real
# stack: heartbeat and start-to-close timeouts raise their spec errors into
# Retry/Catch and stop the worker's attempt (cancel notice); heartbeat
# details reach the next attempt; a retry-after hint delays the retry; a
# non-retryable error skips Retry; cancel stops the running activity;
# terminate closes at once; the run's TimeoutSeconds and a signal wait's
# TimeoutSeconds fire, also when batond keeps only 1 s of timers in
# memory.  Every fact is read from the worker's execution log
# and the run's history, not from batond's word.
source "$(dirname "$0")/lib.sh"
WF="$TEST_DIR/workflows"
mkdir -p "$WF"
EXEC="$TEST_DIR/exec.log"

cat >"$WF/beat.asl.json" <<'J'
{"StartAt": "Work", "States": {"Work": {
  "Type": "Task", "Resource": "baton:activity:default/heartbeat",
  "Parameters": {"every_ms": 200,
    "ms.$": "States.ArrayGetItem(States.Array(6000, 300), $$.State.RetryCount)"},
  "TimeoutSeconds": 2,
  "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}],
  "End": true}}}
J
cat >"$WF/hangs.asl.json" <<'J'
{"StartAt": "Work", "States": {
 "Work": {"Type": "Task", "Resource": "baton:activity:default/hang",
  "Parameters": {"ms": 30000}, "HeartbeatSeconds": 1,
  "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.error", "Next": "GaveUp"}],
  "End": true},
 "GaveUp": {"Type": "Pass", "Result": "gave up", "ResultPath": "$.outcome", "End": true}}}
J
cat >"$WF/limited.asl.json" <<'J'
{"StartAt": "Call", "States": {"Call": {
  "Type": "Task", "Resource": "baton:activity:default/ratelimit",
  "Parameters": {"times": 1, "retry_after_ms": 3000},
  "Retry": [{"ErrorEquals": ["RateLimited"], "IntervalSeconds": 1, "MaxAttempts": 3}],
  "End": true}}}
J
cat >"$WF/fatal.asl.json" <<'J'
{"StartAt": "Call", "States": {
 "Call": {"Type": "Task", "Resource": "baton:activity:default/fatal",
  "Parameters": {"error": "Payment.Declined"},
  "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3}],
  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Declined"}],
  "End": true},
 "Declined": {"Type": "Pass", "End": true}}}
J
cat >"$WF/long.asl.json" <<'J'
{"StartAt": "Work", "States": {"Work": {
  "Type": "Task", "Resource": "baton:activity:default/hang",
  "Parameters": {"ms": 30000}, "End": true}}}
J
# Terminate does not stop the activity (no notice): 8 s, so the worker's
# drain at the end (20 s at most) never has to wait for a 30 s one.
cat >"$WF/long-term.asl.json" <<'J'
{"StartAt": "Work", "States": {"Work": {
  "Type": "Task", "Resource": "baton:activity:default/hang",
  "Parameters": {"ms": 8000}, "End": true}}}
J
cat >"$WF/deadline.asl.json" <<'J'
{"StartAt": "Work", "TimeoutSeconds": 2, "States": {"Work": {
  "Type": "Task", "Resource": "baton:activity:default/hang",
  "Parameters": {"ms": 30000}, "End": true}}}
J
cat >"$WF/warm.asl.json" <<'J'
{"StartAt": "Noop", "States": {"Noop": {
  "Type": "Task", "Resource": "baton:activity:default/noop", "End": true}}}
J
cat >"$WF/gate.asl.json" <<'J'
{"StartAt": "Approve", "States": {
 "Approve": {"Type": "Task", "Resource": "baton:signal:approve", "TimeoutSeconds": 2,
  "ResultPath": "$.approval",
  "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "NoAnswer"}],
  "End": true},
 "NoAnswer": {"Type": "Pass", "Result": "escalate", "ResultPath": "$.next", "End": true}}}
J

stack_up "$TEST_DIR" 4 default
# A 1 s timer horizon: every timer here beyond 1 s lives in Redis only
# until batond reads it in a later slice (batond.timers.horizon.s).
WORKFLOWS_DIR="$WF" batond_up batond --set batond.timers.horizon.s=1
worker_up worker --queue default --concurrency 16 --exec-log "$EXEC" --start-log "$TEST_DIR/start.log"
# The worker must be consuming before the clocks below start.
ctl start warm --id f-warm >/dev/null
ctl result f-warm --wait 60 >/dev/null || fail "the worker never came up"

ctl start beat --id f-beat >/dev/null
ctl start hangs --id f-hang >/dev/null
ctl start limited --id f-limit >/dev/null
ctl start fatal --id f-fatal >/dev/null
ctl start long --id f-cancel >/dev/null
ctl start long-term --id f-term >/dev/null
ctl start deadline --id f-deadline >/dev/null
ctl start gate --id f-gate >/dev/null

# exec_ms TASK_ID: how long the worker ran that attempt ("" if it did not).
# task ids in the log end ".<nonce>" (docs/wire-protocol.md): compared without it
exec_ms() { awk -v t="$1" '{id = $1; sub(/\.[0-9a-f]+$/, "", id)} id == t {print $4 - $3}' "$EXEC" | head -n1; }
wait_exec() {
  local i
  for i in $(seq 1 200); do
    [ -n "$(exec_ms "$1")" ] && return 0
    sleep 0.1
  done
  fail "no execution of $1 in the worker's log"
}
field() { /usr/bin/python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v=v[int(k)] if isinstance(v,list) else v.get(k) if isinstance(v,dict) else None
print(json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" "$2"; }

# Cancel and terminate while the activities run (started, per the start log).
running() { grep -qE "^$1/1/1[. ]" "$TEST_DIR/start.log" 2>/dev/null && ! grep -qE "^$1/1/1[. ]" "$EXEC" 2>/dev/null; }
wait_until 60 "f-cancel's activity to run" running f-cancel
wait_until 60 "f-term's activity to run" running f-term
ctl cancel f-cancel --reason "user gave up" >/dev/null
ctl terminate f-term --reason "runaway" >/dev/null

out=$(ctl result f-beat --wait 60) || fail "beat: $out"
assert_eq "$(field "$out" attempt)" 2 "beat: attempt that completed"
p=$(field "$out" heartbeat_details.progress)
[ "$p" != None ] && [ "$p" -ge 3 ] ||
  fail "beat: attempt 2 did not get attempt 1's heartbeat details: $out"
c=$(ctl history f-beat | grep -c ActivityTimedOut || true)
assert_eq "$c" 1 "beat: timeouts in history"
pass "start-to-close timeout goes to Retry; heartbeat details reach attempt 2 ($p)"

out=$(ctl result f-hang --wait 30) || fail "hang: $out"
assert_eq "$(field "$out" error.Error)" States.HeartbeatTimeout "hang: error"
assert_eq "$(field "$out" outcome)" "gave up" "hang: catcher"
wait_exec f-hang/1/1
[ "$(exec_ms f-hang/1/1)" -lt 10000 ] ||
  fail "hang: the timed-out attempt ran on ($(exec_ms f-hang/1/1) ms)"
pass "heartbeat timeout raises States.HeartbeatTimeout into Catch and stops the worker ($(exec_ms f-hang/1/1) ms)"

out=$(ctl result f-limit --wait 60) || fail "limit: $out"
wait_exec f-limit/1/2
gap=$(awk '{id = $1; sub(/\.[0-9a-f]+$/, "", id)} id == "f-limit/1/1" {e=$4} id == "f-limit/1/2" {s=$3} END {print s - e}' "$EXEC")
[ "$gap" -ge 2800 ] || fail "limit: retried ${gap} ms after a 3000 ms hint"
pass "a retry-after hint longer than the backoff delays the retry (${gap} ms)"

out=$(ctl result f-fatal --wait 30) || fail "fatal: $out"
assert_eq "$(field "$out" error.Error)" Payment.Declined "fatal: caught error"
assert_eq "$(grep -c '^f-fatal/' "$EXEC")" 1 "fatal: executions"
pass "a non-retryable error skips Retry (1 execution) and is caught"

set +e; out=$(ctl result f-cancel --wait 30 2>&1); rc=$?; set -e
[ $rc -ne 0 ] && grep -qi cancel <<<"$out" || fail "cancel: $out"
wait_exec f-cancel/1/1
[ "$(exec_ms f-cancel/1/1)" -lt 10000 ] ||
  fail "cancel: the activity was not stopped ($(exec_ms f-cancel/1/1) ms)"
assert_eq "$(ctl history f-cancel | grep -c WorkflowCancelled)" 1 "cancel events"
pass "cancel stops the running activity through the SDK ($(exec_ms f-cancel/1/1) ms) and is in history"

set +e; out=$(ctl result f-term --wait 30 2>&1); rc=$?; set -e
[ $rc -ne 0 ] && grep -qi terminat <<<"$out" || fail "terminate: $out"
assert_eq "$(ctl history f-term | grep -c WorkflowTerminated)" 1 "terminate events"
pass "terminate closes the run at once and is in history"

set +e; out=$(ctl result f-deadline --wait 30 2>&1); rc=$?; set -e
[ $rc -ne 0 ] && grep -q States.Timeout <<<"$out" || fail "deadline: $out"
wait_exec f-deadline/1/1
[ "$(exec_ms f-deadline/1/1)" -lt 10000 ] ||
  fail "deadline: the activity ran on ($(exec_ms f-deadline/1/1) ms)"
pass "the run's TimeoutSeconds fails it with States.Timeout and stops its activity"

out=$(ctl result f-gate --wait 30) || fail "gate: $out"
assert_eq "$(field "$out" next)" escalate "gate: timeout branch"
assert_eq "$(field "$out" error.Error)" States.Timeout "gate: error"
pass "a signal wait's TimeoutSeconds takes the States.Timeout branch"

# Late results of timed-out or cancelled attempts were ignored as stale.
late_input f-gate ctl signal f-gate approve --payload '"too late"'
out=$(ctl result f-gate --wait 5)
assert_eq "$(field "$out" next)" escalate "gate after a late signal"
pass "a late signal changes nothing"
