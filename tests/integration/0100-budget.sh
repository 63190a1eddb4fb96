#!/usr/bin/env bash
# 0100: per-run budgets of model calls against the scripted model server
# and the real LLM worker.  A tool loop whose model always asks for a tool
# runs with a budget of 3 calls (START --budget, under the definition's
# Budget of 10): the 4th call is refused by batond before it is sent
# (Baton.BudgetExceeded, caught by the definition's Catch), the server
# served exactly 3 calls, and describe shows the usage (calls, tokens, cost
# from llm.prices).  A Map whose items each make one model call runs under
# a Budget of 2 calls: the items' usage counts toward the root, the third
# item is refused, the root catches it and its describe shows 2 calls.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
WF=$TEST_DIR/workflows
mkdir -p "$WF"
cat >"$WF/budget-loop.asl.json" <<'J'
{"StartAt": "Init", "Budget": {"MaxCalls": 10, "MaxTokens": 100000},
 "States": {
  "Init": {"Type": "Pass", "Parameters": {"messages": [{"role": "user", "content.$": "$.question"}]}, "Next": "CallLLM"},
  "CallLLM": {"Type": "Task", "Resource": "baton:activity:llm/llm.chat",
    "Parameters": {"messages.$": "$.messages", "tools": [{"name": "lookup", "parameters": {"type": "object"}}]},
    "ResultPath": "$.reply",
    "Retry": [{"ErrorEquals": ["LLM.RateLimited", "LLM.ServerError", "LLM.ConnectionError"], "MaxAttempts": 3}],
    "Catch": [{"ErrorEquals": ["Baton.BudgetExceeded"], "ResultPath": "$.budget_error", "Next": "OverBudget"}],
    "Next": "AddReply"},
  "AddReply": {"Type": "Task", "Resource": "baton:append", "Parameters": {"Path": "$.messages", "Value.$": "$.reply"}, "Next": "WantsTools"},
  "WantsTools": {"Type": "Choice", "Choices": [{"Variable": "$.reply.tool_calls[0]", "IsPresent": true, "Next": "AddToolResult"}], "Default": "Answer"},
  "AddToolResult": {"Type": "Task", "Resource": "baton:append",
    "Parameters": {"Path": "$.messages", "Value": {"role": "tool", "tool_call_id.$": "$.reply.tool_calls[0].id", "content": "42"}},
    "Next": "CallLLM"},
  "Answer": {"Type": "Pass", "Parameters": {"answer.$": "$.reply.content"}, "End": true},
  "OverBudget": {"Type": "Pass", "Parameters": {"stopped": "budget", "error.$": "$.budget_error.Error", "turns.$": "States.ArrayLength($.messages)"}, "End": true}
 }}
J
cat >"$WF/budget-fanout.asl.json" <<'J'
{"StartAt": "Each", "Budget": {"MaxCalls": 2},
 "States": {
  "Each": {"Type": "Map", "ItemsPath": "$.questions", "MaxConcurrency": 1,
    "ItemProcessor": {"StartAt": "Ask", "States": {
      "Ask": {"Type": "Task", "Resource": "baton:activity:llm/llm.chat",
              "Parameters": {"messages": [{"role": "user", "content.$": "$"}]}, "End": true}}},
    "ResultPath": "$.answers",
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Stopped"}],
    "End": true},
  "Stopped": {"Type": "Pass", "Parameters": {"error.$": "$.error.Error"}, "End": true}
 }}
J
cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [
 {"match": "budget-q", "times": -1, "tool_calls": [{"id": "c1", "name": "lookup", "arguments": {"q": "x"}}],
  "usage": {"input": 100, "output": 20}},
 {"match": "fan-q", "times": -1, "text": "an answer", "usage": {"input": 10, "output": 5}}
]}
JSON
model_server_up "$TEST_DIR/script.json"
stack_up "$TEST_DIR" 4 llm
WORKFLOWS_DIR=$WF batond_up batond \
  --set 'llm.prices={"scripted": {"input_per_mtok": 1000, "output_per_mtok": 5000}}'
llm_worker_up w-llm --concurrency 2

# 1. a tool loop with 3 calls: the 4th is refused before it is sent
ctl start budget-loop --id t100-loop --budget '{"MaxCalls": 3}' \
  --input '{"question": "budget-q: look it up"}' >/dev/null
out=$(run_out t100-loop 90)
assert_eq "$(jq_py "$out" '[j["stopped"], j["error"], j["turns"]]')" \
  '["budget", "Baton.BudgetExceeded", 7]' "the loop stopped on its budget"
calls=$(model_calls)
assert_eq "$(jq_py "$calls" '[j["served"], j["ok_completed"]]')" "[3, 3]" "model calls served"
d=$(ctl describe t100-loop -o json)
assert_eq "$(jq_py "$d" '[j["status"], sorted(j["budget"].items()), [j["usage"][k] for k in ("calls", "input_tokens", "output_tokens")], round(j["usage"]["cost"], 6)]')" \
  '["SUCCEEDED", [["MaxCalls", 3], ["MaxTokens", 100000]], [3, 300, 60], 0.6]' "describe: budget and usage"
ctl describe t100-loop | grep -q '^usage.*"calls": *3' || fail "describe's text shows no usage: $(ctl describe t100-loop)"
hist=$(ctl history t100-loop -o json)
assert_eq "$(jq_py "$hist" '[e["type"] for e in j].count("BudgetExceeded")')" 1 "one BudgetExceeded event"
assert_eq "$(jq_py "$hist" '[e["data"]["input"].get("max_tokens_cap") for e in j if e["type"] == "ActivityScheduled"]')" \
  '[100000, 99880, 99760]' "each call is told the tokens left"
pass "a 3-call budget: 3 calls served, the 4th refused and caught, usage and cost in describe"

# 2. child runs spend their root's budget
ctl start budget-fanout --id t100-fan --input '{"questions": ["fan-q 1", "fan-q 2", "fan-q 3"]}' >/dev/null
out=$(run_out t100-fan 90)
assert_eq "$(jq_py "$out" 'j["error"]')" "Baton.BudgetExceeded" "the third item is refused"
assert_eq "$(jq_py "$(model_calls)" 'j["served"]')" 5 "2 more calls served"
d=$(ctl describe t100-fan -o json)
assert_eq "$(jq_py "$d" '[j["usage"]["calls"], j["usage"]["input_tokens"], j["usage"]["output_tokens"]]')" \
  '[2, 20, 10]' "the items' usage counts at the root"
pass "Map items' calls count toward the root's budget; the one past it is refused"
assert_no_key
