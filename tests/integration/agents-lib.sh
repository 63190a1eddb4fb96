# agents-lib.sh -- sourced (after lib.sh) by the agent-worker tests
# 0040-0049: the scripted model server, the loopback tool server, and the
# real network workers (baton-worker-llm, -http, -mcp) on a private dev
# stack with batond.
#
#   agents_up [PARTITIONS]          dev stack (queues llm, http, mcp) and
#                                   batond; sets BATOND
#   model_server_up SCRIPT          tests/tools/model_server.py with the key
#                                   $API_KEY; sets MODEL_URL (…/v1), MS_PID
#   tool_server_up                  tests/tools/tool_server.py; sets
#                                   TOOL_URL, TS_PID
#   llm_worker_up NAME [ARGS...]    baton-worker-llm on queue llm, pointed at
#                                   MODEL_URL with the key in a file (env
#                                   BATON_LLM_API_KEY_FILE); sets LAST_PID
#   http_worker_up NAME [ARGS...]   baton-worker-http (allow-list 127.0.0.1,
#                                   secret CRM_TOKEN = $CRM_TOKEN, 64 KiB cap)
#   worker_conf NAME KEY=VALUE...   a config file: the stack's plus keys
#   model_calls                     the model server's call log (JSON)
#   assert_no_key                   fails when $API_KEY appears in any log,
#                                   history or result of the test
#   run_out ID [SECONDS]            the output of a closed run (any status)
#   llm_replicas_up SCRIPT WF CONC KEY=VALUE...
#                                   the rate-limit tests' set-up (0101-0103):
#                                   model server on SCRIPT, stack (queue
#                                   llm), batond on the workflows in WF,
#                                   four baton-worker-llm w-llm-1..4 of CONC
#                                   calls each sharing config KEY=VALUE...;
#                                   returns once each owns a partition
#   mcp_everything_up               the npm MCP server; sets MCP_URL
API_KEY="sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
KEY_FILE=$TEST_DIR/api-key
printf '%s\n' "$API_KEY" >"$KEY_FILE"
chmod 600 "$KEY_FILE"

agents_up() {
  stack_up "$TEST_DIR" "${1:-4}" llm,http,mcp
  batond_up batond
  BATOND=$LAST_PID
}

_wait_port() { # FILE PID -> the port written to FILE
  local i
  for i in $(seq 1 100); do
    [ -s "$1" ] && { cat "$1"; return 0; }
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

model_server_up() {
  rm -f "$TEST_DIR/model.port"
  _bg model-server /usr/bin/python3 tests/tools/model_server.py --script "$1" \
      --port-file "$TEST_DIR/model.port" --api-key "$API_KEY" \
      --log "$TEST_DIR/model-server.log"
  MS_PID=$LAST_PID
  MODEL_PORT=$(_wait_port "$TEST_DIR/model.port" "$MS_PID") || fail "model server did not start"
  MODEL_URL=http://127.0.0.1:$MODEL_PORT/v1
}

tool_server_up() {
  rm -f "$TEST_DIR/tool.port"
  _bg tool-server /usr/bin/python3 tests/tools/tool_server.py \
      --port-file "$TEST_DIR/tool.port" --log "$TEST_DIR/tool-server.log"
  TS_PID=$LAST_PID
  TOOL_PORT=$(_wait_port "$TEST_DIR/tool.port" "$TS_PID") || fail "tool server did not start"
  TOOL_URL=http://127.0.0.1:$TOOL_PORT
}

llm_worker_up() {
  local name=$1; shift
  BATON_LLM_BASE_URL=$MODEL_URL BATON_LLM_API_KEY_FILE=$KEY_FILE \
  BATON_LLM_MODEL=scripted-model \
    _bg "$name" "$BIN/baton-worker-llm" --queue llm "$@"
}

# worker_conf NAME KEY=VALUE...: the dev stack's settings plus these keys,
# written to $TEST_DIR/NAME.conf (prints the path).
worker_conf() {
  local f=$TEST_DIR/$1.conf kv; shift
  cp "$BATON_STACK_FILE" "$f"
  for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}" >>"$f"; done
  echo "$f"
}

# llm_replicas_up SCRIPT WF CONC KEY=VALUE...: see the top of this file.
# Each replica must own a partition before the test starts runs, so that
# every one of them takes calls (a shared limit is what they prove).
llm_replicas_up() {
  local script=$1 wf=$2 conc=$3 conf i; shift 3
  model_server_up "$script"
  stack_up "$TEST_DIR" 4 llm
  WORKFLOWS_DIR=$wf batond_up batond
  conf=$(worker_conf w-llm "$@")
  for i in 1 2 3 4; do
    llm_worker_up "w-llm-$i" --config "$conf" --concurrency "$conc"
  done
  wait_until 60 "the four workers share the queue" \
    bash -c "for i in 1 2 3 4; do grep -q 'assigned [1-9]' $TEST_DIR/w-llm-\$i.log || exit 1; done"
}

CRM_TOKEN="crm-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
http_worker_up() {
  local name=$1 conf; shift
  conf=$(worker_conf "$name" http.allow_hosts=127.0.0.1 http.secrets=CRM_TOKEN \
           http.max_response_bytes=65536)
  CRM_TOKEN=$CRM_TOKEN _bg "$name" "$BIN/baton-worker-http" --config "$conf" --queue http "$@"
}

model_calls() { curl -s "http://127.0.0.1:$MODEL_PORT/calls"; }

# The key must not be anywhere the test can see: logs (workers, batond,
# servers), histories and results (written to $TEST_DIR/*.json by run_out).
assert_no_key() {
  local f
  for id in $(ctl list -o json | /usr/bin/python3 -c 'import json,sys; print(" ".join(w["id"] for w in json.load(sys.stdin)))'); do
    ctl history "$id" -o json >"$TEST_DIR/history-$id.json"
    ctl describe "$id" -o json >"$TEST_DIR/describe-$id.json" || true
  done
  # (options before "--": after it they would be file names, and grep's
  # status 2 for those would hide a match)
  local rc=0
  grep -rl --include='*.log' --include='*.json' --include='*.out' \
    -- "$API_KEY" "$TEST_DIR" || rc=$?
  case $rc in
  0) fail "the API key appears in the files above" ;;
  1) ;;
  *) fail "assert_no_key: grep failed ($rc)" ;;
  esac
}

run_out() {
  ctl result "$1" --wait "${2:-60}" | tee "$TEST_DIR/result-$1.out"
}

# jq_py JSON EXPR: the Python expression EXPR over j = the parsed JSON.
jq_py() {
  /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2"
}

# mcp_everything_up: @modelcontextprotocol/server-everything from npm, in
# its streamable-http mode on a free loopback port (installed into
# build/mcp-everything on first use; exit 77 = skipped when npm cannot
# install it).  Sets MCP_URL, MCP_PID.
MCP_DIR=build/mcp-everything
MCP_JS=$MCP_DIR/node_modules/@modelcontextprotocol/server-everything/dist/index.js
# mcp_everything_start NAME PORT: the server, exiting 0 on SIGTERM (the
# stack's end check wants a clean exit; node's default is death by signal).
mcp_everything_start() {
  PORT=$2 _bg "$1" node --import 'data:text/javascript,process.on("SIGTERM",()=>process.exit(0))' \
      "$MCP_JS" streamableHttp
}
mcp_everything_up() {
  local port i
  if [ ! -f "$MCP_JS" ]; then
    command -v npm >/dev/null || { echo "SKIP: npm is not installed"; exit 77; }
    mkdir -p "$MCP_DIR"
    (cd "$MCP_DIR" && timeout 300 npm install --no-audit --no-fund \
       @modelcontextprotocol/server-everything >npm-install.log 2>&1) ||
      { echo "SKIP: npm install failed: $(tail -n 3 "$MCP_DIR/npm-install.log")"; exit 77; }
  fi
  port=$(free_port)
  mcp_everything_start mcp-server "$port"
  MCP_PID=$LAST_PID
  for i in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/mcp" && break
    kill -0 "$MCP_PID" 2>/dev/null || fail "the MCP server exited"
    sleep 0.1
  done
  MCP_URL=http://127.0.0.1:$port/mcp
}
