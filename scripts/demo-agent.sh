#!/usr/bin/env bash
# make demo-agent: a tool-calling agent on the real workers
# (config/workflows/agent-http-tools.asl.json, docs/agents.md): the model
# (baton-worker-llm) asks for two tool calls, baton-worker-http runs them
# against a loopback tool API, the model answers from their results, and
# `batonctl watch` shows the answer as it streams.  The model is the
# scripted model server (tests/tools/model_server.py with
# scripts/demo-agent-model.json) unless BATON_LLM_BASE_URL is set: then it
# is that endpoint, with BATON_LLM_API_KEY and BATON_LLM_MODEL (and
# BATON_LLM_PROVIDER=anthropic for Anthropic).  No network is needed by
# default.  Everything started here is stopped by pid at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stack-lib.sh
DIR=build/demo-agent
rm -rf "$DIR"
mkdir -p "$DIR"
trap stack_down EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_port() { local i; for i in $(seq 1 100); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.05; done; echo "no port in $1" >&2; exit 1; }

say "starting the dev stack, batond, the tool API"
stack_up "$DIR" 4 llm,http
batond_up batond
_bg tool-api /usr/bin/python3 tests/tools/tool_server.py --port-file "$DIR/tool.port"
TOOLS=http://127.0.0.1:$(wait_port "$DIR/tool.port")/tools

if [ -z "${BATON_LLM_BASE_URL:-}" ]; then
  say "model: the scripted model server (set BATON_LLM_BASE_URL for a real one)"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/api-key"
  _bg model /usr/bin/python3 tests/tools/model_server.py \
      --script scripts/demo-agent-model.json --port-file "$DIR/model.port" \
      --api-key "$(cat "$DIR/api-key")"
  export BATON_LLM_BASE_URL=http://127.0.0.1:$(wait_port "$DIR/model.port")/v1
  export BATON_LLM_API_KEY_FILE=$DIR/api-key BATON_LLM_MODEL=scripted-model
  unset BATON_LLM_API_KEY
else
  say "model: $BATON_LLM_BASE_URL (${BATON_LLM_PROVIDER:-openai}, ${BATON_LLM_MODEL:-model unset})"
fi
cp "$BATON_STACK_FILE" "$DIR/http.conf"
echo "http.allow_hosts = 127.0.0.1" >>"$DIR/http.conf"
_bg worker-llm "$BIN/baton-worker-llm" --queue llm --concurrency 4
_bg worker-http "$BIN/baton-worker-http" --config "$DIR/http.conf" --queue http --concurrency 4

id=agent-$$
say "batonctl start agent-http-tools --id $id"
"$BIN/batonctl" start agent-http-tools --id "$id" \
    --input "{\"question\":\"What is 2+3, and what is the weather in Oslo today?\",\"tools_url\":\"$TOOLS\"}"
say "batonctl watch $id   (the model's text, live)"
"$BIN/batonctl" watch "$id" --wait 120
say "batonctl result $id"
"$BIN/batonctl" result "$id" --wait 120
say "batonctl history $id"
"$BIN/batonctl" history "$id"
if [ -s "$DIR/model.port" ]; then
  say "calls the scripted model served (each paid once)"
  curl -s "http://127.0.0.1:$(cat "$DIR/model.port")/calls" | /usr/bin/python3 -c \
    'import json,sys; j=json.load(sys.stdin); print("served %d, completed %d" % (j["served"], j["ok_completed"]))'
fi
say "demo done; stopping everything"
