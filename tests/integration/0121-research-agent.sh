#!/usr/bin/env bash
# 0121: the demo's research agent (config/workflows/research-agent.asl.json,
# scripts/demo-agent.sh) on the demo's own model script
# (scripts/demo-agent-model.json): the MCP tool list lands in the state
# and reaches the model; the model's plan, then tool calls routed by name
# to HTTP (web_search on tests/tools/tool_server.py) and MCP
# (search_notes, read_document on tests/tools/mcp_server.py), until an
# answer without tool calls; the run then waits at the approval gate
# (RUNNING, pending signal, no report call made) until `batonctl signal`;
# the report streams (batonctl watch) and is the output; the budget's
# usage counts the 5 model calls the server served.  A second run is
# rejected at the gate: no report call, status "rejected".
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
model_server_up scripts/demo-agent-model.json
tool_server_up
rm -f "$TEST_DIR/mcp.port"
_bg mcp-server /usr/bin/python3 tests/tools/mcp_server.py --port-file "$TEST_DIR/mcp.port"
MCP_PORT=$(_wait_port "$TEST_DIR/mcp.port" "$LAST_PID") || fail "MCP server did not start"
agents_up
llm_worker_up w-llm --concurrency 4
http_worker_up w-http --concurrency 4
BATON_MCP_URL=http://127.0.0.1:$MCP_PORT/mcp _bg w-mcp "$BIN/baton-worker-mcp" --queue mcp --concurrency 4
INPUT="{\"question\":\"How does durable execution keep an AI agent from paying twice?\",\"tools_url\":\"$TOOL_URL/tools\"}"
desc() { ctl -o json describe "$1"; }
at_gate() { desc "$1" | grep -q '"position": *"AwaitApproval"'; }

ctl start research-agent --id t121-ok --input "$INPUT" >/dev/null
ctl watch t121-ok --wait 120 >"$TEST_DIR/watch.out" 2>&1 &
WATCH=$!
wait_until 120 "t121-ok at the approval gate" at_gate t121-ok
sleep 1 # nothing moves while it waits
d=$(desc t121-ok)
assert_eq "$(jq_py "$d" '[j["status"], j["position"]]')" '["RUNNING", "AwaitApproval"]' "status at the gate"
grep -q 'approve' <<<"$(jq_py "$d" 'j.get("pending")')" || fail "pending at the gate: $(jq_py "$d" 'j.get("pending")')"
assert_eq "$(jq_py "$(model_calls)" 'len(j["calls"])')" 4 "model calls before the approval (plan, 3 turns)"
st=$(jq_py "$d" 'j["state"]')
assert_eq "$(jq_py "$st" 'j["mcp"]["names"]')" '["search_notes", "read_document"]' "MCP tools in the state"
assert_eq "$(jq_py "$st" '[t["name"] for t in j["tools"]]')" '["web_search", "search_notes", "read_document"]' "tools the model sees"
assert_eq "$(jq_py "$(curl -s "http://127.0.0.1:$MCP_PORT/stats")" 'j["calls"]')" \
  '{"search_notes": 1, "read_document": 2}' "MCP tool calls served"
assert_eq "$(jq_py "$(curl -s "$TOOL_URL/stats")" 'list(j["seen"].values())')" '[1]' "HTTP tool calls served (web_search, by Idempotency-Key)"
tools=$(jq_py "$st" '[m.get("tool_call_id") for m in j["messages"] if m["role"] == "tool"]')
assert_eq "$tools" '["call-web-1", "call-kb-1", "call-read-1", "call-read-2"]' "tool results in the conversation"
grep -q '"kb-replay"' <<<"$st" || fail "the MCP result is not in the conversation"
grep -q 'example.org/agents' <<<"$st" || fail "the HTTP result is not in the conversation"
pass "plan, HTTP and MCP tool turns, an answer; the run waits at the gate (4 model calls)"

ctl signal t121-ok approve --payload '{"decision":"approve","by":"t121","note":"fine"}' >/dev/null
out=$(run_out t121-ok 120)
wait $WATCH || fail "watch failed: $(cat "$TEST_DIR/watch.out")"
report=$(/usr/bin/python3 -c 'import json; r=[r for r in json.load(open("scripts/demo-agent-model.json"))["rules"] if r["match"] == "Write the final report"][0]; print("".join(r["chunks"]), end="")')
assert_eq "$(jq_py "$out" '[j["status"], j["approved_by"], j["llm_calls"], j["tool_calls"]]')" \
  '["reported", "t121", 5, 4]' "output"
assert_eq "$(jq_py "$out" 'j["report"]')" "$report" "the report"
grep -qF "Approved for publication." "$TEST_DIR/watch.out" || fail "watch did not show the report"
grep -q "Approved by t121 (fine)" <<<"$(ctl history t121-ok -o json)" || fail "the approval note did not reach the model"
u=$(jq_py "$(desc t121-ok)" 'j["usage"]')
c=$(model_calls)
assert_eq "$(jq_py "$u" '[j["calls"], j["input_tokens"], j["output_tokens"]]')" \
  "$(jq_py "$c" '[j["ok_completed"], sum([230, 410, 540, 64, 612]), sum([52, 44, 58, 30, 96])]')" "budget usage"
assert_eq "$(jq_py "$c" 'j["served"]')" 5 "model calls served"
pass "approved: the report streamed and is the output; usage = the 5 calls served: $u"

ctl start research-agent --id t121-no --input "$INPUT" >/dev/null
wait_until 120 "t121-no at the approval gate" at_gate t121-no
ctl signal t121-no approve --payload '{"decision":"reject","by":"t121"}' >/dev/null
out=$(run_out t121-no 60)
assert_eq "$(jq_py "$out" 'j["status"]')" rejected "status of the rejected run"
assert_eq "$(jq_py "$(model_calls)" 'j["served"]')" 9 "model calls (no report for the rejected run)"
assert_eq "$(jq_py "$(desc t121-no)" 'j["usage"]["calls"]')" 4 "usage of the rejected run"
pass "rejected at the gate: no report written"
assert_no_key
