#!/usr/bin/env bash
# 0001: 120 workflows of three activity steps each complete through Kafka and
# Redis, each with exactly one completion event in its history and in
# baton.events; batond and the worker then stop cleanly on SIGTERM (exit 0,
# no leak reports under ASan).
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 8 default
batond_up batond
BATOND=$LAST_PID
worker_up worker --concurrency 16
WORKER=$LAST_PID

bench_steps3 120 t1
assert_eq "$(json_get "$BENCH_OUT" double_completions)" 0 "double completions"
pass "120 workflows completed, none twice on baton.events"

# Redis: every run SUCCEEDED, with exactly one WorkflowCompleted in history.
assert_completed_once t1 120
succeeded=$(ctl list --status SUCCEEDED -o json | /usr/bin/python3 -c \
  'import json,sys; print(sum(1 for w in json.load(sys.stdin) if w["id"].startswith("t1-")))')
assert_eq "$succeeded" 120 "runs listed as SUCCEEDED"
pass "every history holds exactly one completion"

# Each step's output reached the state: no result lost.
res=$(ctl result t1-7 --wait 5)
for s in s1 s2 s3; do
  echo "$res" | grep -q "\"$s\"" || fail "result of t1-7 lacks step $s: $res"
done
pass "results of all steps are in the final state"

proc_stop "$WORKER" || fail "worker exited non-zero on SIGTERM"
proc_stop "$BATOND" || fail "batond exited non-zero on SIGTERM"
pass "batond and worker drain and exit 0 on SIGTERM"
