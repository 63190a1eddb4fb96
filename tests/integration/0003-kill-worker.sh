#!/usr/bin/env bash
# 0003: kill -9 of a worker in the middle of an activity: the task is
# delivered again (its offset was never committed) to the worker that
# takes over, and the workflow completes.  The start log shows the task
# started on worker-a, which is killed before finishing it (no exec-log
# line), and started again, same task id and same message (partition and
# offset of the queue topic), on worker-b, which finished it.
source "$(dirname "$0")/lib.sh"
mkdir -p "$TEST_DIR/wf"
cat >"$TEST_DIR/wf/t3-long.asl.json" <<'JSON'
{
  "Comment": "0003: a 4 s first activity (time to kill its worker), then two short ones.",
  "StartAt": "Fetch",
  "States": {
    "Fetch":   { "Type": "Task", "Resource": "baton:activity:default/sleep",
                 "Parameters": { "ms": 4000, "step": "fetch" }, "ResultPath": "$.fetch", "Next": "Analyze" },
    "Analyze": { "Type": "Task", "Resource": "baton:activity:default/sleep",
                 "Parameters": { "ms": 100, "step": "analyze" }, "ResultPath": "$.analyze", "Next": "Report" },
    "Report":  { "Type": "Task", "Resource": "baton:activity:default/sleep",
                 "Parameters": { "ms": 100, "step": "report" }, "ResultPath": "$.report", "End": true }
  }
}
JSON
export WORKFLOWS_DIR=$TEST_DIR/wf
stack_up "$TEST_DIR" 2 default
EXEC=$TEST_DIR/exec.log
STARTS=$TEST_DIR/start.log
batond_up batond
worker_up worker-a --concurrency 4 --exec-log "$EXEC" --start-log "$STARTS" --name worker-a
WA=$LAST_PID
ctl start t3-long --id t3-1 --input '{}' >/dev/null
wait_until 90 "t3-1's first task started on worker-a" \
  grep -qE '^t3-1/1/[0-9]+(\.[0-9a-f]+)? [0-9]+ [0-9]+ worker-a [0-9]+ [0-9]+$' "$STARTS"
! grep -q '^t3-1/1/' "$EXEC" 2>/dev/null || fail "the first activity finished before the kill"
proc_kill9 "$WA"
grep -q '^t3-1/1/' "$EXEC" 2>/dev/null && fail "the first activity finished before the kill"
echo "worker-a (pid $WA) killed while running $(grep '^t3-1/1/' "$STARTS")"
worker_up worker-b --concurrency 4 --exec-log "$EXEC" --start-log "$STARTS" --name worker-b
WB=$LAST_PID
res=$(ctl result t3-1 --wait 90) || fail "workflow did not complete: $res"
echo "$res"
grep -q '"fetch"' <<<"$res" || fail "result lacks the first step: $res"
cat "$STARTS"
task=$(grep -m1 '^t3-1/1/' "$STARTS" | cut -d' ' -f1)
assert_eq "$(grep -c "^$task " "$STARTS")" 2 "starts of $task"
assert_eq "$(grep "^$task " "$STARTS" | cut -d' ' -f4 | tr '\n' ' ')" "worker-a worker-b " \
  "workers that started $task, in order"
assert_eq "$(grep "^$task " "$STARTS" | cut -d' ' -f5,6 | sort -u | wc -l)" 1 \
  "distinct task messages (partition offset) behind the two starts of $task"
# It finished exactly once, on worker-b; worker-a died before finishing it.
assert_eq "$(grep -c '^t3-1/1/' "$EXEC")" 1 "finished executions of the killed activity"
assert_eq "$(grep '^t3-1/1/' "$EXEC" | cut -d' ' -f1,2)" "$task $WB" "task and pid of its finished execution"
c=$(ctl history t3-1 | grep -c ActivityCompleted || true)
assert_eq "$c" 3 "activity results applied"
pass "the task started on worker-a, which was killed, was delivered again (same id, same message) to worker-b, which finished it"
