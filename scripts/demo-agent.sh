#!/usr/bin/env bash
# make demo-agent (and the end of make demo): the research agent
# (config/workflows/research-agent.asl.json, docs/agents.md) on the real
# workers.  The model (baton-worker-llm) writes a plan, then calls tools:
# web_search over HTTP (baton-worker-http against the loopback tool API,
# tests/tools/tool_server.py) and the knowledge-base tools of an MCP server
# (baton-worker-mcp against tests/tools/mcp_server.py), until it answers
# without tool calls; `batonctl watch` shows its text live.  The run then
# waits at an approval gate (shown by `batonctl describe`) until this
# script answers with `batonctl signal`, and the model streams the final
# report.  `batonctl describe` at the end shows what the run's Budget was
# charged.  The model is the scripted model server
# (tests/tools/model_server.py with scripts/demo-agent-model.json) unless
# BATON_LLM_BASE_URL is set: then it is that endpoint, with
# BATON_LLM_API_KEY (or BATON_LLM_API_KEY_FILE; none for a local server that
# wants none), BATON_LLM_MODEL, and BATON_LLM_PROVIDER=anthropic for
# Anthropic.  No network is needed by default.  Everything started here
# is stopped by pid at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stack-lib.sh
DIR=build/demo-agent
rm -rf "$DIR"
mkdir -p "$DIR"
trap stack_down EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_port() { local i; for i in $(seq 1 100); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.05; done; echo "no port in $1" >&2; exit 1; }
ctl() { "$BIN/batonctl" "$@"; }
describe_short() { ctl describe "$1" | sed -E 's/^(state: .{90}).*/\1 .../'; }
field() { /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

say "starting the dev stack, batond, the tool API (HTTP) and the knowledge base (MCP)"
stack_up "$DIR" 4 llm,http,mcp
# An example price table (per million tokens), so usage shows a cost.
batond_up batond --set 'llm.prices={"*": {"input_per_mtok": 0.15, "output_per_mtok": 0.60, "cached_input_per_mtok": 0.075}}'
_bg tool-api /usr/bin/python3 tests/tools/tool_server.py --port-file "$DIR/tool.port"
TOOLS=http://127.0.0.1:$(wait_port "$DIR/tool.port")/tools
_bg mcp-server /usr/bin/python3 tests/tools/mcp_server.py --port-file "$DIR/mcp.port" \
    --log "$DIR/mcp-server.calls.log"
MCP=http://127.0.0.1:$(wait_port "$DIR/mcp.port")
echo "tool API $TOOLS, MCP server $MCP/mcp"

if [ -n "${BATON_LLM_BASE_URL:-}" ]; then
  say "model: $BATON_LLM_BASE_URL (${BATON_LLM_PROVIDER:-openai}, ${BATON_LLM_MODEL:-model unset})"
else
  say "model: the scripted model server (set BATON_LLM_BASE_URL and BATON_LLM_API_KEY for a real one)"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/api-key"
  _bg model /usr/bin/python3 tests/tools/model_server.py \
      --script scripts/demo-agent-model.json --port-file "$DIR/model.port" \
      --api-key "$(cat "$DIR/api-key")"
  export BATON_LLM_BASE_URL=http://127.0.0.1:$(wait_port "$DIR/model.port")/v1
  export BATON_LLM_API_KEY_FILE=$DIR/api-key BATON_LLM_MODEL=scripted-model
  unset BATON_LLM_API_KEY BATON_LLM_PROVIDER
fi
cp "$BATON_STACK_FILE" "$DIR/http.conf"
echo "http.allow_hosts = 127.0.0.1" >>"$DIR/http.conf"
_bg worker-llm "$BIN/baton-worker-llm" --queue llm --concurrency 4
_bg worker-http "$BIN/baton-worker-http" --config "$DIR/http.conf" --queue http --concurrency 4
BATON_MCP_URL=$MCP/mcp _bg worker-mcp "$BIN/baton-worker-mcp" --queue mcp --concurrency 4

id=research-agent-$$
question="How does durable execution keep an AI agent from paying twice for its work after a crash?"
say "batonctl start research-agent --id $id"
ctl start research-agent --id "$id" \
    --input "{\"question\":\"$question\",\"tools_url\":\"$TOOLS\"}"
say "batonctl watch $id   (the model's text, live: plan, tool-loop turns, then the report)"
ctl watch "$id" --wait 600 &
WATCH=$!

# Until the run waits at the approval gate (or ended: a real model may stop early).
for i in $(seq 1 600); do
  d=$(ctl -o json describe "$id" 2>/dev/null || echo '{}')
  case "$(field 'j.get("status")' <<<"$d")" in None | RUNNING) ;; *) break ;; esac
  grep -q '"AwaitApproval"' <<<"$d" && break
  sleep 0.2
done
sleep 0.3 # the watcher prints the last turn
if ! grep -q '"AwaitApproval"' <<<"$d"; then
  say "the run did not reach the approval gate (a real model may stop early)"
  describe_short "$id"
  kill "$WATCH" 2>/dev/null || true
  exit 1
fi
say "the run waits for a human: batonctl describe $id   (state trimmed)"
describe_short "$id"
say "the conversation so far (the run's state: messages)"
ctl -o json describe "$id" | /usr/bin/python3 -c '
import json, sys
st = json.load(sys.stdin).get("state") or {}
for m in st.get("messages", []):
    c = m.get("content")
    c = c if isinstance(c, str) else json.dumps(c)
    c = " ".join((c or "").split())
    print("  %-9s %s" % (m["role"], c[:96] + ("..." if len(c) > 96 else "")))
    for t in m.get("tool_calls") or []:
        via = "MCP " if t["name"] in st.get("mcp", {}).get("names", []) else "HTTP"
        print("  %-9s -> %s %s(%s)" % ("", via, t["name"], json.dumps(t["arguments"])))'
say "batonctl signal $id approve   (the reviewer approves)"
sleep 1
ctl signal "$id" approve --payload '{"decision":"approve","by":"reviewer@example.org","note":"ship it"}' >/dev/null
wait $WATCH || true
say "batonctl result $id"
ctl result "$id" --wait 120
say "batonctl describe $id   (state trimmed; usage: what the run's Budget was charged)"
describe_short "$id"
if [ -s "$DIR/model.port" ]; then
  say "calls the scripted model served (each paid once)"
  curl -s "http://127.0.0.1:$(cat "$DIR/model.port")/calls" | field '"served %d, completed %d" % (j["served"], j["ok_completed"])'
fi
say "demo done; stopping everything"
