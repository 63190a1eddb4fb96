#!/usr/bin/env bash
# 0007: a workflow waiting on a signal (human approval) gets it, also across
# a kill -9 of batond while it waits; cancel closes a waiting run.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
batond_up batond
BATOND=$LAST_PID

ctl start wait-signal --id t7-1 --input '{"doc":"spec"}' >/dev/null
ctl signal t7-1 approve --payload '{"by":"ana"}' >/dev/null
res=$(ctl result t7-1 --wait 30) || fail "signalled run did not complete: $res"
grep -q '"ana"' <<<"$res" || fail "signal payload not in the result: $res"
grep -q '"spec"' <<<"$res" || fail "input lost: $res"
pass "a signal completes the wait and its payload lands at ResultPath"

ctl start wait-signal --id t7-2 --input '{}' >/dev/null
ctl start wait-signal --id t7-3 --input '{}' >/dev/null
# Kill only once t7-3 waits for its signal (START applied, wait written):
# what is tested is a signal to a waiting run across the kill.
waits_for_approve() {
  ctl describe t7-3 -o json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
sys.exit(0 if "approve" in json.dumps(json.load(sys.stdin).get("pending")) else 1)'
}
wait_until 30 "t7-3 to wait for signal approve" waits_for_approve
proc_kill9 "$BATOND"
batond_up batond-restarted
ctl signal t7-3 approve --payload '"yes"' >/dev/null
res=$(ctl result t7-3 --wait 60) || fail "approval forgotten across kill -9: $res"
grep -q '"yes"' <<<"$res" || fail "payload lost: $res"
assert_eq "$(ctl history t7-3 | grep -c SignalReceived || true)" 1 "signals received by t7-3"
pass "a waiting run survives kill -9 of batond and gets its signal"

ctl cancel t7-2 --reason "not needed" >/dev/null
set +e; out=$(ctl result t7-2 --wait 30 2>&1); rc=$?; set -e
[ $rc -ne 0 ] || fail "cancelled run reported success"
grep -qi cancel <<<"$out" || fail "result does not say cancelled: $out"
c=$(ctl history t7-2 | grep -c WorkflowCancelled || true)
assert_eq "$c" 1 "cancel events"
pass "cancel closes a waiting run and is recorded in history"
