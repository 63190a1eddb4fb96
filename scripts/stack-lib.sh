# stack-lib.sh -- sourced by the demo, the bench and the integration tests:
# starts the dev stack, batond and workers as background processes in a
# private folder, remembers their pids, and stops them all by pid.
#
# BROKER=embedded (default): baton-devstack hosts librdkafka's mock cluster.
# BROKER=apache: stack_up first starts Apache Kafka (scripts/kafka.sh,
# KAFKA_NODES=1 or 3 combined broker+controller nodes, data and logs under
# DIR/kafka) and runs baton-devstack on it (--kafka, topics replicated
# min(3, nodes) times); the mock-only control commands then fail.
#
#   stack_up DIR [PARTITIONS] [QUEUES]   dev stack; exports BATON_STACK_FILE
#                                        ($DEVSTACK_ARGS: more devstack flags,
#                                        e.g. "--session-timeout-ms 1500";
#                                        "--brokers 3" is the mock's, use
#                                        KAFKA_NODES=3 with BROKER=apache)
#   stack_control CMD...                 one devstack control command (FIFO),
#                                        waits until it is done; 1 on error
#   stack_kafka_kill9 N                  BROKER=apache: kill -9 Kafka node N
#   stack_kafka_restart N                start node N again (same ports and
#                                        data), wait until it is up
#   stack_kafka_signal N SIG             send SIG (STOP, CONT...) to node N;
#                                        1 when it is not running
#   batond_up NAME [ARGS...]             sets LAST_PID; log DIR/NAME.log
#   worker_up NAME [ARGS...]             sets LAST_PID; log DIR/NAME.log
#   proc_stop PID                        SIGTERM, wait (20 s), then SIGKILL;
#                                        returns the process's exit status
#   proc_kill9 PID                       kill -9 and reap (a kill on purpose:
#                                        its status is not checked)
#   stack_down                           stops everything started here, then
#                                        checks it: 1 when a process exited
#                                        non-zero (or had to be SIGKILLed), a
#                                        log holds a sanitizer report, or a
#                                        file of DIR holds one of the
#                                        $STACK_SECRETS
#
# STACK_SECRETS: set by a test that hands the stack secrets (passwords,
# keys), one per line; stack_down greps every log and output file of the
# stack's folder for each of them (docs/security.md: no secret is ever
# logged).
BIN=${BATON_BIN:-build/bin}
STACK_PIDS=()
declare -A STACK_NAME=() STACK_STATUS=() STACK_KILLED=()
STACK_DIR=
STACK_CONTROL_N=0
KAFKA_SH=${KAFKA_SH:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka.sh}
KAFKA_PIDS=() # by node number - 1; stopped together, last, by stack_down

# Starts Kafka node N of STACK_DIR in the background, as a child of this
# shell (killed with it: --pdeathsig), its pid in KAFKA_PIDS.
_kafka_node_start() {
  local n=$1
  "$KAFKA_SH" mark "$STACK_DIR" "$n"
  setpriv --pdeathsig KILL "$KAFKA_SH" run "$STACK_DIR" "$n" >/dev/null 2>&1 &
  KAFKA_PIDS[$((n - 1))]=$!
  echo $! >"$STACK_DIR/kafka/node-$n/pid" # before kafka.sh wait reads it
}

# Formats and starts KAFKA_NODES nodes under STACK_DIR/kafka; waits for them.
_kafka_up() {
  local nodes=${KAFKA_NODES:-1} n
  "$KAFKA_SH" prepare "$STACK_DIR" "$nodes" || return 1
  for n in $(seq 1 "$nodes"); do _kafka_node_start "$n"; done
  "$KAFKA_SH" wait "$STACK_DIR" || return 1
}

stack_up() {
  STACK_DIR=$1
  local parts=${2:-8} queues=${3:-default}
  local kafka_args=()
  mkdir -p "$STACK_DIR"
  STACK_DIR=$(cd "$STACK_DIR" && pwd)
  rm -f "$STACK_DIR/stack.conf"
  case "${BROKER:-embedded}" in
  embedded) ;;
  apache)
    _kafka_up || { echo "Apache Kafka did not start (see $STACK_DIR/kafka)" >&2; return 1; }
    local rf=${KAFKA_NODES:-1}
    [ "$rf" -gt 3 ] && rf=3
    kafka_args=(--kafka "$(cat "$STACK_DIR/kafka/bootstrap")" --replication "$rf")
    ;;
  *) echo "BROKER must be apache or embedded, not '$BROKER'" >&2; return 1 ;;
  esac
  # shellcheck disable=SC2086  # DEVSTACK_ARGS is a list of flags
  "$BIN/baton-devstack" --dir "$STACK_DIR" --partitions "$parts" --queues "$queues" \
      "${kafka_args[@]}" ${DEVSTACK_ARGS:-} >"$STACK_DIR/devstack.log" 2>&1 &
  STACK_PIDS+=($!)
  STACK_NAME[$!]=devstack
  local i
  for i in $(seq 1 400); do
    [ -f "$STACK_DIR/stack.conf" ] && break
    if ! kill -0 $! 2>/dev/null; then cat "$STACK_DIR/devstack.log" >&2; return 1; fi
    sleep 0.05
  done
  [ -f "$STACK_DIR/stack.conf" ] || { echo "dev stack did not start" >&2; return 1; }
  export BATON_STACK_FILE="$STACK_DIR/stack.conf"
  STACK_CONTROL_N=0
}

# Writes one command to the dev stack's control FIFO and waits (60 s at
# most) for its line in control.log: 0 when it says ok, 1 otherwise.
stack_control() {
  local log="$STACK_DIR/control.log" i line
  STACK_CONTROL_N=$((STACK_CONTROL_N + 1))
  echo "$*" > "$STACK_DIR/control"
  for i in $(seq 1 1200); do
    line=$(sed -n "${STACK_CONTROL_N}p" "$log" 2>/dev/null)
    [ -n "$line" ] && break
    sleep 0.05
  done
  case "$line" in
    "$STACK_CONTROL_N ok "*) return 0 ;;
    "") echo "control '$*': no answer in 60 s" >&2; return 1 ;;
    *) echo "control: $line" >&2; return 1 ;;
  esac
}

stack_kafka_kill9() {
  local pid=${KAFKA_PIDS[$(($1 - 1))]:-}
  [ -n "$pid" ] || { echo "no Kafka node $1 in this stack" >&2; return 1; }
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stack_kafka_signal() {
  local pid=${KAFKA_PIDS[$(($1 - 1))]:-}
  [ -n "$pid" ] || { echo "no Kafka node $1 in this stack" >&2; return 1; }
  kill -"$2" "$pid"
}

stack_kafka_restart() {
  _kafka_node_start "$1"
  "$KAFKA_SH" wait "$STACK_DIR" "$1"
}

_bg() {
  local name=$1; shift
  "$@" >>"$STACK_DIR/$name.log" 2>&1 &
  LAST_PID=$!
  STACK_PIDS+=($LAST_PID)
  STACK_NAME[$LAST_PID]=$name
}

batond_up() {
  local name=$1; shift
  _bg "$name" "$BIN/batond" --workflows "${WORKFLOWS_DIR:-config/workflows}" "$@"
}

worker_up() {
  local name=$1; shift
  _bg "$name" "$BIN/baton-test-worker" "$@"
}

# Stops one process: SIGTERM, then SIGKILL after 20 s.  Returns its exit
# status (also when it had died before: bash keeps the status of its
# children), and remembers it for stack_down's check.
proc_stop() {
  local pid=$1 i st
  if [ -n "${STACK_STATUS[$pid]:-}" ]; then return "${STACK_STATUS[$pid]}"; fi
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "process $pid (${STACK_NAME[$pid]:-?}) did not stop in 20 s: SIGKILL" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  st=0
  wait "$pid" 2>/dev/null || st=$?
  STACK_STATUS[$pid]=$st
  return "$st"
}

# A kill on purpose: its exit status is not a finding.
proc_kill9() {
  STACK_KILLED[$1]=1
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Sanitizer reports in a log: AddressSanitizer, LeakSanitizer,
# UndefinedBehaviorSanitizer (runtime error), ThreadSanitizer.
STACK_SANITIZER_RE='ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)|: runtime error: '

# Prints the sanitizer reports found in the logs of every process started
# here; 1 when there is one.
stack_sanitizer_check() {
  local f found=0
  for f in "$STACK_DIR"/*.log; do
    [ -f "$f" ] || continue
    if grep -qE "$STACK_SANITIZER_RE" "$f"; then
      echo "---- sanitizer report in $f ----" >&2
      grep -nE -A 30 "$STACK_SANITIZER_RE" "$f" | head -n 120 >&2
      found=1
    fi
  done
  return $found
}

# The Kafka nodes stop together (one at a time, the last would wait for a
# controller quorum that is gone): SIGTERM to all, SIGKILL after 30 s.
_kafka_down() {
  local pid i alive
  for pid in "${KAFKA_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 300); do
    alive=0
    for pid in "${KAFKA_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${KAFKA_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "Kafka node pid $pid did not stop in 30 s: SIGKILL" >&2
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  KAFKA_PIDS=()
}

# Prints which files of the stack's folder (logs, outputs, the Redis log;
# not the secret files themselves, named *.secret) hold one of the lines of
# $STACK_SECRETS; 1 when one does.
stack_secret_check() {
  local f secret found=0
  [ -n "${STACK_SECRETS:-}" ] || return 0
  while IFS= read -r secret; do
    [ -n "$secret" ] || continue
    while IFS= read -r f; do
      case "$f" in *.secret) continue ;; esac
      echo "FINDING: a secret (${#secret} bytes, starting ${secret:0:3}...) appears in $f" >&2
      found=1
    done < <(grep -rlF -- "$secret" "$STACK_DIR" 2>/dev/null || true)
  done <<< "$STACK_SECRETS"
  return $found
}

# Stops everything started here (newest first) and checks it: every process
# not killed on purpose must have exited 0, and no log may hold a sanitizer
# report.  Returns 1 (after printing the findings) otherwise.
stack_down() {
  local i pid st rc=0
  for (( i=${#STACK_PIDS[@]}-1; i>=0; i-- )); do
    pid=${STACK_PIDS[$i]}
    if [ -n "${STACK_KILLED[$pid]:-}" ]; then continue; fi
    st=0
    proc_stop "$pid" || st=$?
    if [ "$st" -ne 0 ]; then
      echo "FINDING: ${STACK_NAME[$pid]:-process} (pid $pid) exited with status $st" >&2
      rc=1
    fi
  done
  STACK_PIDS=()
  [ ${#KAFKA_PIDS[@]} -eq 0 ] || _kafka_down
  if [ -n "$STACK_DIR" ]; then
    stack_sanitizer_check || rc=1
    stack_secret_check || rc=1
  fi
  return $rc
}
