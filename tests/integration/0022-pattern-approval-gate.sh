#!/usr/bin/env bash
# 0022: human approval gate (config/workflows/approval-gate.asl.json): the
# research workflow runs as a child, then the run waits for the signal
# 'approve'.  Approve publishes the report (artifact.store), reject and no
# answer in time (the shipped 24 h wait shortened to 5 s in a copy of the
# definitions) publish nothing.  Asserts each branch's output, the stored
# file, the path in the history, and that a late signal changes nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/patterns-lib.sh"
grep -q '"TimeoutSeconds": 86400' config/workflows/approval-gate.asl.json ||
  fail "the shipped approval gate does not wait 24 h"
patterns_workflows 5
patterns_up
mkdir -p "$TEST_DIR/artifacts"
agent_worker_up w-llm llm
agent_worker_up w-tools tools --artifact-dir "$TEST_DIR/artifacts"

for r in approve reject expire; do
  ctl start approval-gate --id "t22-$r" --input "{\"topic\":\"agents $r\"}" >/dev/null
done
await_signal_wait t22-approve approve
ctl signal t22-approve approve --payload '{"decision":"approve","by":"ana"}' >/dev/null
await_signal_wait t22-reject approve
ctl signal t22-reject approve \
  --payload '{"decision":"reject","by":"bo","note":"needs primary sources"}' >/dev/null

report="Research report: agents approve: synthesized from 3 inputs: agents approve: overview; agents approve: tutorial; agents approve: pitfalls. [3 sources]"
out=$(await_result t22-approve 30)
assert_eq "$(jq_py "$out" 'j["status"]')" published "status of the approved run"
assert_eq "$(jq_py "$out" 'j["approved_by"]')" ana "approver"
assert_eq "$(jq_py "$out" 'j["report"]')" "$report" "approved report"
assert_eq "$(cat "$TEST_DIR/artifacts/report-t22-approve.txt")" "$report" "published file"
path=$(history_path t22-approve | tr '\n' '|')
case "$path" in
  "WorkflowStarted -|ChildStarted Research|ChildCompleted Research|"*"SignalReceived WaitForApproval|"*"ActivityScheduled Publish|ActivityCompleted Publish|WorkflowCompleted Published|") ;;
  *) fail "path of t22-approve: $path" ;;
esac
# The child's id is "<parent>:<seq>.<nonce>" (docs/wire-protocol.md).
child_id=$(redis --scan --pattern 'baton:{p*}:wf:t22-approve:1.*' | sed 's/.*:wf://')
[ -n "$child_id" ] || fail "no research child run of t22-approve"
child=$(ctl describe "$child_id" -o json)
assert_eq "$(jq_py "$child" 'j["type"] + " " + j["status"]')" "research SUCCEEDED" "research child run"
assert_eq "$(jq_py "$child" 'j["state"]["report"]')" "$report" "child's report"
pass "approve: research child, the wait, then the report is published"

out=$(await_result t22-reject 30)
assert_eq "$(jq_py "$out" 'j["status"]')" rejected "status of the rejected run"
assert_eq "$(jq_py "$out" 'j["decision"]')" \
  '{"decision": "reject", "by": "bo", "note": "needs primary sources"}' "rejection kept"
path=$(history_path t22-reject | tail -n 1)
assert_eq "$path" "WorkflowCompleted Rejected" "end of t22-reject"
pass "reject: the Rejected branch, nothing published"

out=$(await_result t22-expire 30)
assert_eq "$(jq_py "$out" 'j["status"]')" expired "status of the unanswered run"
assert_eq "$(jq_py "$out" 'j["error"]')" States.Timeout "error caught"
assert_eq "$(history_path t22-expire | tail -n 1)" "WorkflowCompleted Expired" "end of t22-expire"
hist=$(ctl history t22-expire -o json)
waited=$(jq_py "$hist" '[e["time"] for e in j if e["type"] == "WorkflowCompleted"][0] - [e["time"] for e in j if e["type"] == "ChildCompleted"][0]')
[ "$waited" -ge 5000 ] && [ "$waited" -lt 15000 ] ||
  fail "the expired run waited ${waited} ms, not about 5 s"
late_input t22-expire ctl signal t22-expire approve --payload '{"decision":"approve","by":"late"}'
out=$(await_result t22-expire 5)
assert_eq "$(jq_py "$out" 'j["status"]')" expired "status after a late signal"
pass "no answer in time: the Expired branch after ${waited} ms; a late approval changes nothing"

assert_eq "$(exec_count artifact.store)" 1 "artifact.store executions (approved run only)"
assert_eq "$(ls "$TEST_DIR/artifacts")" "report-t22-approve.txt" "published files"
for r in approve reject expire; do
  assert_eq "$(exec_count web.search "t22-$r:1.")" 1 "searches of t22-$r"
  assert_eq "$(exec_count llm.synthesize "t22-$r:1.")" 1 "LLM calls of t22-$r"
done
pass "only the approved report was published; each research step ran once"
