# stack-lib.sh -- sourced by the demo, the bench and the integration tests:
# starts the embedded dev stack, batond and workers as background processes
# in a private folder, remembers their pids, and stops them all by pid.
#
#   stack_up DIR [PARTITIONS] [QUEUES]   dev stack; exports BATON_STACK_FILE
#                                        ($DEVSTACK_ARGS: more devstack flags,
#                                        e.g. "--brokers 3 --session-timeout-ms
#                                        1500")
#   stack_control CMD...                 one devstack control command (FIFO),
#                                        waits until it is done; 1 on error
#   batond_up NAME [ARGS...]             sets LAST_PID; log DIR/NAME.log
#   worker_up NAME [ARGS...]             sets LAST_PID; log DIR/NAME.log
#   proc_stop PID                        SIGTERM, wait (20 s), then SIGKILL
#   proc_kill9 PID                       kill -9 and reap
#   stack_down                           stops everything started here
BIN=${BATON_BIN:-build/bin}
STACK_PIDS=()
STACK_DIR=
STACK_CONTROL_N=0

stack_up() {
  STACK_DIR=$1
  local parts=${2:-8} queues=${3:-default}
  mkdir -p "$STACK_DIR"
  rm -f "$STACK_DIR/stack.conf"
  # shellcheck disable=SC2086  # DEVSTACK_ARGS is a list of flags
  "$BIN/baton-devstack" --dir "$STACK_DIR" --partitions "$parts" --queues "$queues" \
      ${DEVSTACK_ARGS:-} >"$STACK_DIR/devstack.log" 2>&1 &
  STACK_PIDS+=($!)
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

_bg() {
  local name=$1; shift
  "$@" >>"$STACK_DIR/$name.log" 2>&1 &
  LAST_PID=$!
  STACK_PIDS+=($LAST_PID)
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
# status when it exited on its own (for checks of clean shutdown).
proc_stop() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "process $pid did not stop in 20 s: SIGKILL" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null
}

proc_kill9() {
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

stack_down() {
  local i
  for (( i=${#STACK_PIDS[@]}-1; i>=0; i-- )); do
    proc_stop "${STACK_PIDS[$i]}" || true
  done
  STACK_PIDS=()
}
