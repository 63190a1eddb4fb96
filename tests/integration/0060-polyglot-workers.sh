#!/usr/bin/env bash
# 0060: workers with no C SDK run a real workflow (config/workflows/
# polyglot.asl.json): the Python example (activities/examples/python/
# worker.py, queue py) and the Node.js example (activities/examples/node/
# worker.js with kafkajs, queue node), both fed JSON tasks by batond
# (batond.tasks.json.queues) and reading the dev stack file for their
# connection settings.  It proves, for each:
#  - a failure with retry_after_ms is retried (Python: attempt 2 succeeds);
#  - heartbeats keep an activity longer than HeartbeatSeconds alive;
#  - a cancel notice stops a running activity (FAILED Baton.Cancelled);
#  - after a kill -9 mid-activity the task is redelivered to a new worker
#    (its offset was not committed) and the run completes, the activity
#    completed once;
#  - tasks carry the run's lineage (the output names the root run).
# Task ids are matched by prefix (<wf>/<seq>/<attempt>...): a worker copies
# them unchanged, whatever follows.
# kafkajs comes from npm into build/node-worker (once); without npm the
# Node half is skipped and said so, the Python half still runs.
source "$(dirname "$0")/lib.sh"
node_worker_deps

stack_up "$TEST_DIR" 2 py,node
EXEC=$TEST_DIR/exec.log
export BATON_EXEC_LOG=$EXEC
batond_up batond --set batond.tasks.json.queues=py,node
py_up() { _bg "$1" /usr/bin/python3 -u activities/examples/python/worker.py py; }
node_up() { _bg "$1" env NODE_PATH="$NODE_DIR/node_modules" node activities/examples/node/worker.js node; }
# wait_for FILE PATTERN SECONDS
wait_for() {
  local i
  for i in $(seq 1 $(($3 * 10))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no '$2' in $1 within $3 s"
}
input() { # text fail_first py_ms node_ms [hb_s: HeartbeatSeconds, default 30]
  printf '{"text":"%s","fail_first":%s,"py_ms":%d,"node_ms":%d,"hb_s":%d}' "$1" "$2" "$3" "$4" "${5:-30}"
}

py_up py-a
PY=$LAST_PID
if [ $have_node = 1 ]; then node_up node-a; NODE=$LAST_PID; fi
wait_for "$TEST_DIR/py-a.log" "ready" 30
[ $have_node = 1 ] && wait_for "$TEST_DIR/node-a.log" "ready" 30
sleep 3 # both join their groups

# Without the Node worker, the second step of each run never completes:
# the Python checks then stop after the first step.
finish() { # ID: the result, or the history when the Node half is off
  if [ $have_node = 1 ]; then ctl result "$1" --wait 90 || fail "$1 did not complete"
  else wait_for "$EXEC" "^$1/[^ ]* completed python" 60; fi
}

# 1. retry with a hint, lineage
ctl start polyglot --id poly-1 --input "$(input '  Hello   World ' true 0 0)" >/dev/null
res=$(finish poly-1)
ctl history poly-1 | grep -q '"error":"Py.Flaky".*"retry_after_ms":300' ||
  fail "the first attempt's failure with its retry hint is not in the history"
if [ $have_node = 1 ]; then
  assert_eq "$(json_get "$(json_get "$res" normalized)" text)" "hello world" "normalized text"
  assert_eq "$(json_get "$(json_get "$res" normalized)" attempt)" 2 "the retry succeeded"
  assert_eq "$(json_get "$(json_get "$res" normalized)" root)" poly-1 "root_workflow_id"
  assert_eq "$(json_get "$(json_get "$res" counted)" words)" 2 "node counted"
  assert_eq "$(json_get "$(json_get "$res" counted)" by)" node "node ran step 2"
fi
pass "a failure with retry_after_ms is retried; tasks carry the root run"

# 2. heartbeats: 4 s activities under HeartbeatSeconds 2 (no Retry on
# States.HeartbeatTimeout: a missed heartbeat would fail the run)
ctl start polyglot --id poly-2 --input "$(input 'a b c' false 4000 $([ $have_node = 1 ] && echo 4000 || echo 0) 2)" >/dev/null
finish poly-2 >/dev/null
ctl history poly-2 | grep -q HeartbeatTimeout && fail "a heartbeat timed out"
pass "heartbeats keep long activities alive"

# 3. cancellation notices
ctl start polyglot --id poly-3 --input "$(input x false 60000 0)" >/dev/null
wait_for "$TEST_DIR/py-a.log" "started poly-3/1/1" 30
sleep 0.5
ctl cancel poly-3 >/dev/null
wait_for "$EXEC" "^poly-3/1/1[^ ]* cancelled python" 20
pass "python: a cancel notice stops the running activity"
if [ $have_node = 1 ]; then
  ctl start polyglot --id poly-4 --input "$(input x false 0 60000)" >/dev/null
  wait_for "$TEST_DIR/node-a.log" "started poly-4/2/1" 30
  sleep 0.5
  ctl cancel poly-4 >/dev/null
  wait_for "$EXEC" "^poly-4/2/1[^ ]* cancelled node" 20
  pass "node: a cancel notice stops the running activity"
fi

# 4. kill -9 mid-activity: redelivered to the next worker of the group
# (HeartbeatSeconds 30: the group notices the dead member first)
ctl start polyglot --id poly-5 --input "$(input 'k i l l' false 3000 0)" >/dev/null
wait_for "$TEST_DIR/py-a.log" "started poly-5/1/1" 30
proc_kill9 "$PY"
py_up py-b
wait_for "$TEST_DIR/py-b.log" "started poly-5/1/1" 90
finish poly-5 >/dev/null
assert_eq "$(grep -c '^poly-5/1/1[^ ]* completed' "$EXEC")" 1 "completions of the killed python activity"
pass "python: the task of a worker killed with -9 is redelivered and completes"
if [ $have_node = 1 ]; then
  ctl start polyglot --id poly-6 --input "$(input 'k i l l' false 0 3000)" >/dev/null
  wait_for "$TEST_DIR/node-a.log" "started poly-6/2/1" 30
  proc_kill9 "$NODE"
  node_up node-b
  wait_for "$TEST_DIR/node-b.log" "started poly-6/2/1" 90
  res=$(finish poly-6)
  assert_eq "$(json_get "$(json_get "$res" counted)" words)" 4 "node result after the kill"
  assert_eq "$(grep -c '^poly-6/2/1[^ ]* completed' "$EXEC")" 1 "completions of the killed node activity"
  pass "node: the task of a worker killed with -9 is redelivered and completes"
fi
