#!/usr/bin/env bash
# 0043: baton-worker-mcp against a real third-party MCP server,
# @modelcontextprotocol/server-everything from npm, over Streamable HTTP
# on a loopback port: the tool list lands in the run's state (in the
# llm.chat tool shape), tools are called in the worker's session (echo,
# get-sum), an unknown tool and bad arguments are final errors caught by
# the workflow, and after the server restarts (the session is gone) the
# worker opens a new session and the next run succeeds.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
mcp_everything_up
agents_up
mcp_worker_up() { BATON_MCP_URL=$MCP_URL _bg "$1" "$BIN/baton-worker-mcp" --queue mcp --concurrency 4; }
mcp_worker_up w-mcp
start() { ctl start mcp-tools --id "$1" --input "{\"call\":$2}" >/dev/null; }
start t43-echo '{"name":"echo","arguments":{"message":"hello baton"}}'
start t43-sum '{"name":"get-sum","arguments":{"a":2,"b":40}}'
start t43-unknown '{"name":"no-such-tool","arguments":{}}'
start t43-badargs '{"name":"get-sum","arguments":{"a":"two"}}'

out=$(run_out t43-echo)
assert_eq "$(jq_py "$out" '[j["result"]["role"], j["result"]["name"], j["result"]["content"]]')" \
  '["tool", "echo", "Echo: hello baton"]' "echo"
n=$(jq_py "$out" 'j["tool_count"]')
[ "$n" -ge 5 ] || fail "tool list: $n tools"
assert_eq "$(jq_py "$out" 'sorted(t["name"] for t in j["tools"] if t["name"] in ("echo", "get-sum"))')" '["echo", "get-sum"]' "listed tools"
assert_eq "$(jq_py "$out" '[t["parameters"]["type"] for t in j["tools"] if t["name"] == "get-sum"]')" '["object"]' "schema of get-sum"
pass "tool list of $n tools in the run's state; echo called"
out=$(run_out t43-sum)
grep -q "42" <<<"$(jq_py "$out" 'j["result"]["content"]')" || fail "get-sum: $out"
pass "get-sum: $(jq_py "$out" 'j["result"]["content"]')"
for id in t43-unknown t43-badargs; do
  out=$(run_out $id)
  e=$(jq_py "$out" 'j["error"]["Error"]')
  assert_eq "$e" MCP.ToolError "error of $id (the server reports both as isError results)"
  assert_eq "$(ctl history $id -o json | jq_py "$(cat)" 'len([e for e in j if e["type"] == "ActivityScheduled" and e.get("state") == "CallTool"])')" 1 "attempts of $id's call"
  echo "$id: $e: $(jq_py "$out" 'j["error"]["Cause"]')"
done
pass "unknown tool and bad arguments: final MCP errors, caught, one attempt"

proc_kill9 "$MCP_PID"
old=$MCP_URL
port=${MCP_URL##*:}; port=${port%%/*}
mcp_everything_start mcp-server-2 "$port"
for i in $(seq 1 100); do curl -s -o /dev/null "$old" && break; sleep 0.1; done
start t43-after '{"name":"echo","arguments":{"message":"new session"}}'
out=$(run_out t43-after)
assert_eq "$(jq_py "$out" 'j["result"]["content"]')" "Echo: new session" "after the server restart"
assert_eq "$(grep -c 'a new session' "$TEST_DIR/w-mcp.log")" 1 "sessions renewed"
pass "the server restarted: the worker opened a new session and went on"
