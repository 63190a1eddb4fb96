# lib.sh -- sourced by every integration test: a private dev stack on free
# loopback ports in a temporary folder, assertions, and cleanup by pid on
# any exit.  Tests run on Apache Kafka (BROKER=apache, the default here:
# scripts/kafka.sh) or on the embedded broker (BROKER=embedded: librdkafka's
# mock cluster, what `make demo` uses).  A test that needs a mock-only
# control command sets BROKER=embedded before sourcing this and says why.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BATON_BIN=${BATON_BIN:-build-asan/bin}
export BATON_BIN
export BROKER=${BROKER:-apache}
echo "# broker: $BROKER"
source scripts/stack-lib.sh
TEST_DIR=$(mktemp -d /tmp/baton-test.XXXXXX)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

_test_cleanup() {
  local rc=$?
  # Every daemon is checked at the end: exit status and sanitizer reports.
  stack_down || { echo "FAIL: a process started by the test failed its end check (above)" >&2; rc=1; }
  # What the test left running in the background (a bench after a failed
  # check) would hold ctest's output open until it ended on its own.
  local left
  left=$(jobs -p)
  [ -z "$left" ] || kill $left 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "---- logs of the failed test ($TEST_DIR) ----" >&2
    for f in "$TEST_DIR"/*.log; do
      [ -f "$f" ] || continue
      echo "== $f (last 40 lines)" >&2
      tail -n 40 "$f" >&2
    done
  elif [ -n "${BATON_TEST_KEEP:-}" ]; then
    echo "kept: $TEST_DIR (BATON_TEST_KEEP)" >&2
  else
    rm -rf "$TEST_DIR"
  fi
  exit $rc
}
trap _test_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }
ctl() { "$BIN/batonctl" "$@"; }
redis() {
  local url port
  url=$(sed -n 's/^redis.url *= *//p' "$BATON_STACK_FILE")
  port=${url##*:}
  redis-cli -p "${port%%/*}" "$@"
}
# free_port: a TCP port free on 127.0.0.1 now (the kernel's pick).
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
assert_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
# json_get JSON FIELD: a top-level field of a JSON object (string or number).
json_get() {
  /usr/bin/python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" "$2"
}
# wait_until SECONDS WHAT CMD...: runs CMD every 0.05 s until it succeeds;
# fails the test with WHAT when SECONDS pass first.
wait_until() {
  local secs=$1 what=$2 end; shift 2
  end=$(( $(date +%s%3N) + secs * 1000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%3N)" -lt "$end" ] || fail "timed out after ${secs} s waiting for: $what"
    sleep 0.05
  done
}
# session_ms: the consumers' session.timeout.ms in the stack file.
session_ms() { sed -n 's/^kafka.consumer.session.timeout.ms *= *//p' "$BATON_STACK_FILE"; }
# owns_partitions LOG: the batond of LOG took at least one partition.
owns_partitions() { grep -q 'took partition' "$1"; }
# count_lines FILE: lines in FILE (0 when it does not exist).
count_lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# snap_field ID FIELD: a top-level field of workflow ID's snapshot in Redis
# ("" when there is none).
snap_field() {
  local p
  p=$("$BIN/baton-kafka" partition baton.commands "$1")
  redis GET "baton:{p$p}:wf:$1" | /usr/bin/python3 -c '
import json, sys
t = sys.stdin.read().strip()
v = json.loads(t).get(sys.argv[1]) if t else None
print("" if v is None else v)' "$2"
}
_stale_above() { [ "$(snap_field "$1" stale)" -gt "$2" ] 2>/dev/null; }
# late_input ID COMMAND...: runs COMMAND, a late input to ID (a closed run
# or a stale result), and waits (30 s) for the evidence it was processed:
# ID's stale counter moves.  Then "nothing changed" checks mean something.
late_input() {
  local id=$1 s0; shift
  s0=$(snap_field "$id" stale)
  "$@" >/dev/null
  wait_until 30 "batond to count the late input to $id as stale (was ${s0:-0})" _stale_above "$id" "${s0:-0}"
}
# worker_assigned LOG: the worker of LOG has partitions of its task topic.
worker_assigned() { grep -qE 'assigned [1-9][0-9]* partition' "$1"; }
# bench_steps3 N PREFIX [WATCH...]: baton-bench runs N workflows of three
# steps (ids PREFIX-*, 20 at once, 180 s at most), prints its JSON and fails
# the test unless all N completed; the JSON stays in BENCH_OUT.  Each WATCH
# is "NAME:PID", a process that must live through the load: one that exits
# fails the test at once, not after the bench's 180 s.
bench_steps3() {
  local n=$1 prefix=$2 w bench out=$TEST_DIR/bench-$2.out
  shift 2
  "$BIN/baton-bench" --workflows "$n" --type steps3 --steps 3 \
    --concurrency 20 --id-prefix "$prefix" --timeout 180 --json >"$out" &
  bench=$!
  while kill -0 "$bench" 2>/dev/null; do
    for w in "$@"; do
      if ! kill -0 "${w#*:}" 2>/dev/null; then
        kill "$bench" 2>/dev/null
        fail "${w%%:*} (pid ${w#*:}) exited under the load"
      fi
    done
    sleep 0.2
  done
  wait "$bench" || fail "bench: $(cat "$out")"
  BENCH_OUT=$(cat "$out")
  echo "$BENCH_OUT"
  assert_eq "$(json_get "$BENCH_OUT" completed)" "$n" "completed workflows"
}
# assert_completed_once PREFIX N: Redis holds exactly N histories of runs
# PREFIX-*, each with exactly one WorkflowCompleted.
assert_completed_once() {
  local key c n=0
  for key in $(redis --scan --pattern "baton:{p*}:hist:$1-*"); do
    c=$(redis LRANGE "$key" 0 -1 | grep -c '"WorkflowCompleted"' || true)
    [ "$c" == 1 ] || fail "$key has $c completion events"
    n=$((n+1))
  done
  assert_eq "$n" "$2" "histories in Redis"
}
# assert_producer_replaced WHO LOG PID HOOK RESET: the process PID (named
# WHO, logging to LOG) was hit by its producer-fatal test hook (LOG holds
# the fixed text HOOK), saw the fatal error, logged the reset (the regex
# RESET) and is still alive; prints its 'producer replaced' lines.
assert_producer_replaced() {
  local who=$1 log=$2 pid=$3
  grep -q "$4" "$log" || fail "the test hook did not fire"
  grep -q 'fatal Kafka error.*replacing the producer' "$log" \
    || fail "$who did not see the fatal producer error"
  grep -qE "$5" "$log" || fail "$who did not log the producer reset"
  grep -E 'producer replaced' "$log"
  kill -0 "$pid" 2>/dev/null || fail "$who (pid $pid) exited"
}
# node_worker_deps: kafkajs for the Node.js example worker, from npm into
# build/node-worker (once).  Sets NODE_DIR and have_node: 1 when node and
# kafkajs are there, else 0 (said on stdout: the Node part is skipped).
node_worker_deps() {
  NODE_DIR=$PWD/build/node-worker
  have_node=1
  if [ ! -d "$NODE_DIR/node_modules/kafkajs" ]; then
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && timeout 300 npm install --no-audit --no-fund kafkajs >/dev/null 2>&1) || have_node=0
  fi
  command -v node >/dev/null || have_node=0
  [ $have_node = 1 ] || echo "# npm/node or kafkajs unavailable: the Node worker part is skipped"
}
