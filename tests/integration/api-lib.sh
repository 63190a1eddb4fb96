# api-lib.sh -- sourced by the baton-api tests (0070-0074) after lib.sh:
# starts baton-api on a free loopback port of the test's stack and calls it.
#
#   api_up NAME [ARGS...]      baton-api on a free port; sets API_URL,
#                              LAST_PID; log DIR/NAME.log
#   api METHOD PATH [BODY]     one call with the token $API_TOKEN (when
#                              set); the body of the answer in $API_BODY,
#                              its status printed
#   api_noauth METHOD PATH     the same without the Authorization header
#   jq_py EXPR                 evaluates a Python expression on j = the
#                              JSON of $API_BODY, prints the result

api_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

api_up() {
  local name=$1 port; shift
  port=$(api_free_port)
  API_URL="http://127.0.0.1:$port"
  _bg "$name" "$BIN/baton-api" --listen "127.0.0.1:$port" "$@"
  wait_until 30 "baton-api to answer /healthz" curl -sf "$API_URL/healthz"
}

_api_call() {
  local auth=$1 method=$2 path=$3 body=${4-} args=()
  [ "$auth" = 1 ] && [ -n "${API_TOKEN:-}" ] && args+=(-H "Authorization: Bearer $API_TOKEN")
  [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  curl -s -o "$TEST_DIR/api.body" -w '%{http_code}' -X "$method" "${args[@]}" "$API_URL$path"
  API_BODY=$(cat "$TEST_DIR/api.body")
}
api() { _api_call 1 "$@"; }
api_noauth() { _api_call 0 "$@"; }

jq_py() {
  /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[2])); v=eval(sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1" "$TEST_DIR/api.body"
}
