#!/usr/bin/env bash
# 0044: a small agent end to end on the real workers
# (config/workflows/agent-http-tools.asl.json): the scripted model asks
# for two tool calls, baton-worker-http runs them in parallel against the
# loopback tool API (one request each, each with its own Idempotency-Key),
# the results go back to the model as tool messages, which answers from
# them.  The model server served exactly the two paid calls, the
# conversation in the result is in order, and the API key is in no log,
# history or result.  A second run meets a 429 on its first model call:
# retried after its hint, the run completes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [
 {"match": "sunny", "times": 2, "text": "2 + 3 = 5, and Oslo is sunny today.",
  "usage": {"input": 120, "output": 14, "cached": 64}},
 {"match": "agent-q-retry", "status": 429, "headers": {"retry-after-ms": "1500"}},
 {"match": "agent-q", "times": 2, "tool_calls": [
   {"id": "call-a", "name": "add", "arguments": {"a": 2, "b": 3}},
   {"id": "call-w", "name": "weather", "arguments": {"city": "Oslo"}}]}
]}
JSON
model_server_up "$TEST_DIR/script.json"
tool_server_up
agents_up
llm_worker_up w-llm --concurrency 4
http_worker_up w-http --concurrency 4
ctl start agent-http-tools --id t44-agent \
  --input "{\"question\":\"agent-q: what is 2+3, and the weather in Oslo?\",\"tools_url\":\"$TOOL_URL/tools\"}" >/dev/null
out=$(run_out t44-agent 90)
assert_eq "$(jq_py "$out" '[j["answer"], j["stop_reason"], j["llm_calls"], j["usage"]["cached_tokens"]]')" \
  '["2 + 3 = 5, and Oslo is sunny today.", "final_answer", 2, 64]' "answer"
assert_eq "$(jq_py "$out" '" ".join(m["role"] for m in j["messages"])')" "user assistant tool tool assistant" "roles"
assert_eq "$(jq_py "$out" '[(m["tool_call_id"], m["content"]) for m in j["messages"] if m["role"] == "tool"]')" \
  '[["call-a", {"sum": 5}], ["call-w", {"city": "Oslo", "forecast": "sunny"}]]' "tool results in call order"
assert_eq "$(jq_py "$out" '[c["arguments"] for c in j["messages"][1]["tool_calls"]]')" \
  '[{"a": 2, "b": 3}, {"city": "Oslo"}]' "parsed tool-call arguments in the history"
pass "model -> two HTTP tool calls in parallel -> model answers from their results"
calls=$(model_calls)
assert_eq "$(jq_py "$calls" '[j["served"], j["ok_completed"]]')" "[2, 2]" "model calls"
stats=$(curl -s "$TOOL_URL/stats")
assert_eq "$(jq_py "$stats" 'sorted(j["seen"].values())')" "[1, 1]" "one request per tool call"
assert_eq "$(jq_py "$stats" 'len(j["seen"])')" 2 "distinct Idempotency-Keys"
pass "two model calls paid, two tool requests, each step with its own key"

ctl start agent-http-tools --id t44-retry \
  --input "{\"question\":\"agent-q-retry: 2+3 and Oslo?\",\"tools_url\":\"$TOOL_URL/tools\"}" >/dev/null
out=$(run_out t44-retry 90)
assert_eq "$(jq_py "$out" '[j["answer"], j["llm_calls"]]')" '["2 + 3 = 5, and Oslo is sunny today.", 2]' "answer after a 429"
assert_eq "$(jq_py "$(model_calls)" '[c["status"] for c in j["calls"]][2:]')" "[429, 200, 200]" "the second run's model calls"
assert_no_key
pass "a 429 on the model call is retried after its hint; the run completes; no key anywhere"
