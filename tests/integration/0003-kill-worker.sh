#!/usr/bin/env bash
# 0003: kill -9 of a worker in the middle of an activity: the task is
# delivered again (its offset was never committed) to the worker that
# takes over, and the workflow completes.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 2 default
EXEC=$TEST_DIR/exec.log
batond_up batond
worker_up worker-a --concurrency 4 --exec-log "$EXEC"
WA=$LAST_PID
sleep 3   # let worker-a join its group and get the partitions
ctl start slow-steps --id t3-1 --input '{}' >/dev/null
sleep 0.25 # the first activity (400 ms) is running now
proc_kill9 "$WA"
echo "worker-a killed during the first activity"
worker_up worker-b --concurrency 4 --exec-log "$EXEC"
res=$(ctl result t3-1 --wait 90) || fail "workflow did not complete: $res"
echo "$res"
grep -q '"fetch"' <<<"$res" || fail "result lacks the first step: $res"
# The first activity completed exactly once (by worker-b); worker-a died
# before it could finish it.
c=$(grep -c '^t3-1/1/' "$EXEC" || true)
assert_eq "$c" 1 "completed executions of the killed activity"
c=$(ctl history t3-1 | grep -c ActivityCompleted || true)
assert_eq "$c" 3 "activity results applied"
pass "the task of the killed worker ran again and the workflow completed"
