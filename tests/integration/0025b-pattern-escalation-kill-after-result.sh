#!/usr/bin/env bash
# 0025b: a completed activity does not run again when batond is killed -9
# right after its result was applied (DESIGN.md guarantee 3: "after a crash
# only the activities in flight at the crash can run again").
#
# Found with the escalation pattern: its notify.human activity completed and
# its result was applied (history: ActivityCompleted NotifyHuman,
# SignalWaitStarted WaitForHuman), but the task's outbox entry in Redis was
# deleted only by a later write (the next batch of the partition, or the
# idle flush of acknowledged entries).  A kill -9 in between left the entry;
# the next owner re-sent it at assignment and the worker executed the task
# a second time: the on-call human was paged twice (3 runs out of 3 of a
# hand-run variant of this script, about 1 in 4 of this one; never with the
# kill 200 ms or more after the wait started).  Fixed in a2bc9f9: the write
# that ends an attempt removes its outbox entry.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/patterns-lib.sh"
patterns_up
agent_worker_up w-tools tools --notify-log "$TEST_DIR/notify.log"

ctl start escalation --id e1 --input '{"ticket":"T","customer_id":"c"}' >/dev/null
for _ in $(seq 1 600); do # as soon as the run waits (no python: fast)
  ctl describe e1 -o json 2>/dev/null | grep -q '"resolve"' && break
  sleep 0.01
done
proc_kill9 "$BATOND"
batond_up batond-restarted
for _ in $(seq 1 300); do
  grep -q 'took partition' "$TEST_DIR/batond-restarted.log" && break
  sleep 0.1
done
sleep 3 # time for a re-sent task to run
assert_eq "$(exec_count notify.human e1/)" 1 "executions of the completed notify.human"
assert_eq "$(wc -l <"$TEST_DIR/notify.log")" 1 "pages sent to the human"
pass "a completed activity does not run again after a kill -9 of batond"
