#!/usr/bin/env bash
# 0021: plan-and-execute (config/workflows/plan-and-execute.asl.json): the
# LLM plans N tasks, a Map runs them as child runs with MaxConcurrency 2,
# the LLM synthesizes the results (in plan order, whatever order they
# finished in), the report is stored as an artifact.  Asserts the report,
# the stored file, that never more than 2 tasks ran at once (but 2 did),
# each task ran once, and the path in the history.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/patterns-lib.sh"
patterns_up
mkdir -p "$TEST_DIR/artifacts"
agent_worker_up w-llm llm
agent_worker_up w-tools tools --concurrency 8 --sleep task.run=400 \
  --artifact-dir "$TEST_DIR/artifacts"

ctl start plan-and-execute --id t21-1 \
  --input '{"goal":"launch the beta","max_tasks":5}' >/dev/null
out=$(await_result t21-1 90)
steps=""
for i in 1 2 3 4 5; do
  steps="$steps${steps:+; }done: Step $i of launch the beta"
done
report="launch the beta: synthesized from 5 inputs: $steps."
assert_eq "$(jq_py "$out" 'j["report"]')" "$report" "report"
assert_eq "$(jq_py "$out" 'j["tasks_done"]')" 5 "tasks done"
assert_eq "$(jq_py "$out" 'j["goal"]')" "launch the beta" "goal"
file="$TEST_DIR/artifacts/plan-t21-1.txt"
assert_eq "$(jq_py "$out" 'j["artifact"]["uri"]')" "file://$file" "artifact uri"
assert_eq "$(cat "$file")" "$report" "stored artifact"
assert_eq "$(jq_py "$out" 'j["artifact"]["bytes"]')" "${#report}" "artifact size"
pass "the plan's 5 tasks ran, were synthesized in plan order and stored"

assert_eq "$(exec_count llm.plan t21-1/)" 1 "llm.plan executions"
assert_eq "$(exec_count task.run t21-1:)" 5 "task.run executions"
for i in 0 1 2 3 4; do
  assert_eq "$(exec_count task.run "t21-1:2:$i.")" 1 "executions of task $i"
done
assert_eq "$(exec_count llm.synthesize t21-1/)" 1 "llm.synthesize executions"
assert_eq "$(exec_count artifact.store t21-1/)" 1 "artifact.store executions"
assert_eq "$(peak_overlap task.run t21-1:)" 2 "tasks running at once (MaxConcurrency 2)"
pass "each task ran once, at most (and at times exactly) 2 at a time"

path=$(history_path t21-1 | uniq | tr '\n' '|')
assert_eq "$path" "WorkflowStarted -|ActivityScheduled Plan|ActivityCompleted Plan|FanoutStarted ExecuteTasks|ChildCompleted ExecuteTasks|ActivityScheduled Synthesize|ActivityCompleted Synthesize|ActivityScheduled StoreArtifact|ActivityCompleted StoreArtifact|WorkflowCompleted Done|" \
  "path of t21-1"
hist=$(ctl history t21-1 -o json)
assert_eq "$(jq_py "$hist" '[e["data"] for e in j if e["type"] == "FanoutStarted"][0]')" \
  '{"kind": "Map", "items": 5, "max_concurrency": 2}' "fan-out"
assert_eq "$(jq_py "$hist" 'sorted(e["data"]["index"] for e in j if e["type"] == "ChildCompleted" and e["data"]["error"] is None)')" \
  '[0, 1, 2, 3, 4]' "children completed"
kids=$(ctl list -o json | /usr/bin/python3 -c '
import json, sys
print(sorted(w["id"].rsplit(".", 1)[0] + "=" + w["status"]  # without the nonce
             for w in json.load(sys.stdin) if w["id"].startswith("t21-1:")))')
assert_eq "$kids" "['t21-1:2:0=SUCCEEDED', 't21-1:2:1=SUCCEEDED', 't21-1:2:2=SUCCEEDED', 't21-1:2:3=SUCCEEDED', 't21-1:2:4=SUCCEEDED']" \
  "Map child runs"
pass "history: plan, a Map of 5 child runs, synthesis, store"
