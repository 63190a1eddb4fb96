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
#
# Deterministic since: batond's test hook (BATON_TEST_STOP=after:..., see
# orchestrator/batond.c) freezes it right after the write that applies the
# notify.human result (the batch with SignalWaitStarted) and the test kills
# it there, the exact window of the bug.  Checked at once: the completed
# task is not in the outbox the dead batond left, and not produced twice
# after the next owner took over (every message of the tasks topic); then
# the tools worker has consumed everything (lag 0) and ran it once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/patterns-lib.sh"
BATON_TEST_IGNORE_ACK=Te1/ BATON_TEST_STOP=after:e1:SignalWaitStarted patterns_up
agent_worker_up w-tools tools --notify-log "$TEST_DIR/notify.log"

ctl start escalation --id e1 --input '{"ticket":"T","customer_id":"c"}' >/dev/null
is_stopped() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" == T ]; }
wait_until 120 "batond frozen right after writing e1's signal wait" is_stopped "$BATOND"
grep -q "TEST HOOK: stopped after writing e1" "$TEST_DIR/batond.log" || fail "batond stopped elsewhere"
proc_kill9 "$BATOND"
P=$("$BIN/baton-kafka" partition baton.commands e1)
# Tasks' outbox ids are "T<task_id>" (engine_task.c); every task of e1 so
# far (crm.lookup attempts, notify.human) has its result applied.
echo "outbox of partition $P at the kill: $(redis HKEYS "baton:{p$P}:outbox" | tr '\n' ' ')"
left=$(redis HKEYS "baton:{p$P}:outbox" | grep -a '^Te1/' || true)
[ -z "$left" ] || fail "completed tasks still in the outbox after the write that applied their results: $left"
pass "batond killed right after the write that applied notify.human's result; its task is not in the outbox"

batond_up batond-restarted
wait_until 90 "the restarted batond takes partition $P" \
  grep -q "took partition $P " "$TEST_DIR/batond-restarted.log"
outbox_empty() { [ "$(redis HLEN "baton:{p$P}:outbox")" == 0 ]; }
wait_until 30 "the new owner's re-sends to be acknowledged" outbox_empty
sent=$("$BIN/baton-kafka" consume baton.tasks.tools --timeout 3 | grep -ac 'e1/2/1[^0-9]' || true)
assert_eq "$sent" 1 "notify.human tasks of e1 produced"
lag_zero() { ctl lag | awk '$1 == "baton.worker.tools" {n++; s += $NF} END {exit !(n > 0 && s == 0)}'; }
wait_until 60 "the tools worker to consume every task (lag 0)" lag_zero
assert_eq "$(exec_count notify.human e1/)" 1 "executions of the completed notify.human"
assert_eq "$(wc -l <"$TEST_DIR/notify.log")" 1 "pages sent to the human"
pass "a completed activity does not run again after a kill -9 of batond"
