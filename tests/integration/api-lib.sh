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
#   API_CAPTURE=FILE           when set, every call of api / api_noauth
#                              appends {"method","path","status",
#                              "content_type","body"} to FILE (JSON lines:
#                              tests/openapi/check.py responses)
#   api_capture_url METHOD PATH  a call by curl without the JSON helpers
#                              (e.g. /metrics), captured the same way
#   api_gate_stack_up TAG      the stack of 0070 and 0071: stack_up, the
#                              workflow api-gate (a Task, then the signal
#                              'approve'; Fail unless approved) in
#                              $WORKFLOWS_DIR, batond, one worker and
#                              baton-api with a fresh token; sets
#                              WORKFLOWS_DIR, API_TOKEN (t$TAG-...), API (pid)

api_up() {
  local name=$1 port; shift
  port=$(free_port)
  API_URL="http://127.0.0.1:$port"
  _bg "$name" "$BIN/baton-api" --listen "127.0.0.1:$port" "$@"
  wait_until 30 "baton-api to answer /healthz" curl -sf "$API_URL/healthz"
}

_api_call() {
  local auth=$1 method=$2 path=$3 body=${4-} args=()
  [ "$auth" = 1 ] && [ -n "${API_TOKEN:-}" ] && args+=(-H "Authorization: Bearer $API_TOKEN")
  [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  local out code
  out=$(curl -s -o "$TEST_DIR/api.body" -w '%{http_code} %{content_type}' -X "$method" "${args[@]}" "$API_URL$path")
  code=${out%% *}
  API_BODY=$(cat "$TEST_DIR/api.body")
  [ -n "${API_CAPTURE:-}" ] && _api_capture "$method" "$path" "$code" "${out#* }"
  echo "$code"
}
_api_capture() {
  /usr/bin/python3 -c 'import json,sys; m,p,c,t,f,o=sys.argv[1:]; b=open(f,"rb").read().decode("utf-8","replace"); open(o,"a").write(json.dumps({"method":m,"path":p,"status":int(c),"content_type":t,"body":b})+"\n")' \
    "$1" "$2" "$3" "$4" "$TEST_DIR/api.body" "$API_CAPTURE"
}
api_capture_url() { _api_call 0 "$@" >/dev/null; }
api() { _api_call 1 "$@"; }
api_noauth() { _api_call 0 "$@"; }

jq_py() {
  /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[2])); v=eval(sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1" "$TEST_DIR/api.body"
}

api_gate_stack_up() {
  local tag=$1
  stack_up "$TEST_DIR" 4 default
  WORKFLOWS_DIR="$TEST_DIR/workflows"
  export WORKFLOWS_DIR
  mkdir -p "$WORKFLOWS_DIR"
  cat >"$WORKFLOWS_DIR/api-gate.asl.json" <<'JSON'
{
  "Comment": "api-lib.sh: a Task, then a human approval: succeeds when approved.",
  "StartAt": "Prepare",
  "States": {
    "Prepare": { "Type": "Task", "Resource": "baton:activity:default/noop",
                 "Parameters": { "step": 1 }, "ResultPath": "$.prepared", "Next": "WaitForApproval" },
    "WaitForApproval": { "Type": "Task", "Resource": "baton:signal:approve",
                         "ResultPath": "$.approval", "Next": "Decide" },
    "Decide": { "Type": "Choice",
                "Choices": [ { "Variable": "$.approval.approved", "BooleanEquals": true, "Next": "Done" } ],
                "Default": "Rejected" },
    "Done": { "Type": "Succeed" },
    "Rejected": { "Type": "Fail", "Error": "Rejected", "Cause": "not approved" }
  }
}
JSON
  batond_up batond --set batond.payload.max=4096
  worker_up worker
  API_TOKEN=t$tag-$RANDOM$RANDOM
  export BATON_API_TOKEN=$API_TOKEN
  api_up api --set batond.payload.max=4096 --set batond.workflows.dir="$WORKFLOWS_DIR"
  API=$LAST_PID
  unset BATON_API_TOKEN
}
