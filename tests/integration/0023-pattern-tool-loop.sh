#!/usr/bin/env bash
# 0023: the ReAct tool loop (config/workflows/tool-loop.asl.json): LLM ->
# all tool calls of its reply in parallel (Map) -> results appended to the
# message history (baton:append) -> LLM again, until a reply without tool
# calls or 5 LLM calls.  The scripted LLM asks for #turns rounds of #calls
# tool calls.  Asserts the final answer (made of every tool result), the
# message history in order, that the calls of a round ran in parallel, the
# step limit, and the executions per activity.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/patterns-lib.sh"
patterns_up
agent_worker_up w-llm llm
agent_worker_up w-tools tools --concurrency 8 --sleep tool.call=300

ctl start tool-loop --id t23-react \
  --input '{"question":"Multiply and look things up #turns=2 #calls=3"}' >/dev/null
ctl start tool-loop --id t23-limit \
  --input '{"question":"Never satisfied #turns=50 #calls=1"}' >/dev/null
ctl start tool-loop --id t23-direct \
  --input '{"question":"Just answer #turns=0"}' >/dev/null

out=$(await_result t23-react 90)
assert_eq "$(jq_py "$out" 'j["answer"]')" \
  "Answer to 'Multiply and look things up' after 2 tool rounds: 1*1=1, fact-1-2:ok, 1*3=3, 2*1=2, fact-2-2:ok, 2*3=6" \
  "final answer"
assert_eq "$(jq_py "$out" 'j["stop_reason"] + " " + str(j["llm_calls"])')" "final_answer 3" "stop"
assert_eq "$(jq_py "$out" '" ".join(m["role"] for m in j["messages"])')" \
  "user assistant tool tool tool assistant tool tool tool assistant" "message roles"
assert_eq "$(jq_py "$out" '[m["tool_call_id"] for m in j["messages"] if m["role"] == "tool"]')" \
  '["call-1-1", "call-1-2", "call-1-3", "call-2-1", "call-2-2", "call-2-3"]' \
  "tool results follow their calls in order"
assert_eq "$(jq_py "$out" '[c["id"] for m in j["messages"] if m["role"] == "assistant" for c in m["tool_calls"]]')" \
  '["call-1-1", "call-1-2", "call-1-3", "call-2-1", "call-2-2", "call-2-3"]' \
  "tool calls kept in the history"
pass "two rounds of three tool calls, then the answer built from all six results"

assert_eq "$(exec_count llm.chat t23-react/)" 3 "LLM calls"
assert_eq "$(exec_count tool.call t23-react:)" 6 "tool executions"
assert_eq "$(peak_overlap tool.call t23-react:)" 3 "tool calls running at once"
hist=$(ctl history t23-react -o json)
assert_eq "$(jq_py "$hist" '[len(e["data"]["input"]["messages"]) for e in j if e["type"] == "ActivityScheduled"]')" \
  "[1, 5, 9]" "history sizes the LLM saw"
assert_eq "$(jq_py "$hist" '[e["data"]["items"] for e in j if e["type"] == "FanoutStarted"]')" \
  "[3, 3]" "tool fan-outs"
path=$(history_path t23-react | uniq | tr '\n' '|')
assert_eq "$path" "WorkflowStarted -|ActivityScheduled CallLLM|ActivityCompleted CallLLM|FanoutStarted RunTools|ChildCompleted RunTools|ActivityScheduled CallLLM|ActivityCompleted CallLLM|FanoutStarted RunTools|ChildCompleted RunTools|ActivityScheduled CallLLM|ActivityCompleted CallLLM|WorkflowCompleted FinalAnswer|" \
  "path of t23-react"
pass "each round's calls ran in parallel, once each; the LLM saw the growing history"

out=$(await_result t23-limit 90)
assert_eq "$(jq_py "$out" '[j["stop_reason"], j["llm_calls"], j["answer"]]')" \
  '["step_limit", 5, null]' "step limit"
assert_eq "$(jq_py "$out" '" ".join(m["role"] for m in j["messages"])')" \
  "user assistant tool assistant tool assistant tool assistant tool assistant" "roles at the limit"
assert_eq "$(exec_count llm.chat t23-limit/)" 5 "LLM calls at the limit"
assert_eq "$(exec_count tool.call t23-limit:)" 4 "tool executions at the limit"
assert_eq "$(history_path t23-limit | tail -n 1)" "WorkflowCompleted StepLimit" "end of t23-limit"
pass "a model that never stops is cut at 5 LLM calls"

out=$(await_result t23-direct 60)
assert_eq "$(jq_py "$out" '[j["stop_reason"], j["llm_calls"], j["answer"], len(j["messages"])]')" \
  "[\"final_answer\", 1, \"Answer to 'Just answer' after 0 tool rounds:\", 2]" "direct answer"
assert_eq "$(exec_count tool.call t23-direct)" 0 "tools of a direct answer"
pass "a reply without tool calls ends the loop at once"
