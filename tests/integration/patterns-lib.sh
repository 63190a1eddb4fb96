# patterns-lib.sh -- sourced (after lib.sh) by the agent-pattern tests
# 0020-0026: the shipped examples of config/workflows/ run on a private dev
# stack with the real batond and baton-agent-worker processes (the scripted
# LLM stand-in, tests/workers/agent_worker.c), one worker per queue.
#
#   patterns_workflows [SIGNAL_TIMEOUT]  copies config/workflows/*.json into
#                                        $TEST_DIR/workflows, replacing the
#                                        shipped 24 h signal waits
#                                        ("TimeoutSeconds": 86400) by
#                                        SIGNAL_TIMEOUT seconds; exports
#                                        WORKFLOWS_DIR
#   patterns_variant NAME NEW SECONDS    writes $WORKFLOWS_DIR/NEW.asl.json, a
#                                        copy of NAME whose 24 h signal waits
#                                        time out after SECONDS
#   patterns_up [PARTITIONS]             dev stack (queues llm, tools, docs)
#                                        and batond; sets BATOND
#   agent_worker_up NAME QUEUE [ARGS...] a baton-agent-worker on QUEUE
#                                        logging executions to $EXEC_LOG;
#                                        sets LAST_PID
#   jq_py JSON EXPR                      prints the Python expression EXPR
#                                        over j = the parsed JSON (strings
#                                        as is, anything else as JSON)
#   await_result ID [SECONDS]            the output of a closed run (fails
#                                        the test when it is not SUCCEEDED)
#   await_signal_wait ID NAME            waits (30 s) until ID waits for the
#                                        signal NAME
#   exec_count TYPE [ID_PREFIX]          executions of activity TYPE in
#                                        $EXEC_LOG (task ids starting with
#                                        ID_PREFIX when given)
#   history_path ID                      the history as "Type State" lines
EXEC_LOG=$TEST_DIR/exec.log
: >"$EXEC_LOG"

patterns_workflows() {
  local timeout=${1:-86400} f
  mkdir -p "$TEST_DIR/workflows"
  for f in config/workflows/*.json; do
    sed "s/\"TimeoutSeconds\": 86400/\"TimeoutSeconds\": $timeout/" "$f" \
      >"$TEST_DIR/workflows/$(basename "$f")"
  done
  export WORKFLOWS_DIR=$TEST_DIR/workflows
}

patterns_variant() {
  sed "s/\"TimeoutSeconds\": 86400/\"TimeoutSeconds\": $3/" \
    "config/workflows/$1.asl.json" >"$WORKFLOWS_DIR/$2.asl.json"
}

patterns_up() {
  stack_up "$TEST_DIR" "${1:-4}" llm,tools,docs
  batond_up batond ${BATOND_EXTRA:-}
  BATOND=$LAST_PID
}

agent_worker_up() {
  local name=$1 queue=$2; shift 2
  _bg "$name" "$BIN/baton-agent-worker" --queue "$queue" \
      --exec-log "$EXEC_LOG" "$@"
}

jq_py() {
  /usr/bin/python3 -c '
import json, sys
j = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

await_result() {
  local id=$1 secs=${2:-60} out
  out=$(ctl result "$id" --wait "$secs" 2>&1) ||
    fail "$id did not succeed in ${secs}s: $out; describe: $(ctl describe "$id" -o json 2>&1)"
  printf '%s\n' "$out"
}

await_signal_wait() {
  local id=$1 name=$2 i
  for i in $(seq 1 300); do
    ctl describe "$id" -o json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if sys.argv[1] in json.dumps(d.get("pending")) else 1)' "$name" 2>/dev/null &&
      return 0
    sleep 0.1
  done
  fail "$id is not waiting for signal $name: $(ctl describe "$id" -o json 2>&1)"
}

# (child run ids end ".<nonce>": a prefix "<parent>:<seq>." names one)
exec_count() {
  awk -v t="$1" -v p="${2:-}" '$5 == t && index($1, p) == 1' "$EXEC_LOG" | wc -l
}

history_path() {
  ctl history "$1" -o json | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print(e["type"], e.get("state") or "-")'
}

# peak_overlap TYPE ID_PREFIX: the most executions of TYPE (task ids
# starting with ID_PREFIX) that ran at the same time, from $EXEC_LOG.
peak_overlap() {
  /usr/bin/python3 -c '
import sys
ev = []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 5 and f[4] == sys.argv[2] and f[0].startswith(sys.argv[3]):
        ev += [(int(f[2]), 1), (int(f[3]), -1)]
ev.sort(key=lambda e: (e[0], e[1]))
n = peak = 0
for _, d in ev:
    n += d
    peak = max(peak, n)
print(peak)' "$EXEC_LOG" "$1" "$2"
}
