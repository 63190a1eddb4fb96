#!/usr/bin/env bash
# tests/chaos/chaos.sh -- the fault-injection suite (`make chaos DURATION=300
# [BROKER=apache]`, and tests/integration/0012-chaos-short.sh for a short
# run; README.md here).
#
#   tests/chaos/chaos.sh [DURATION_S] [SEED]
#
# Starts a private dev stack (8 partitions) on the broker BROKER names
# (embedded: librdkafka's mock cluster with 3 brokers; apache: a three-node
# Apache Kafka cluster, KAFKA_NODES=3, replication 3, min.insync.replicas
# 2), CHAOS_BATONDS batond instances and CHAOS_WORKERS example workers
# (sharing one exec log), and a steady load of chaos-mix workflows
# (tests/chaos/workflows: activities, a retried flaky activity, a Wait
# timer, a signal) from `baton-chaos load`.  For DURATION_S seconds it
# injects one fault every 2-5 s, the kinds taken in a seeded random order
# (each kind once per round; the first round always completes, so every
# kind occurs at least once however short the run):
#
#   both brokers:
#   batond-kill    kill -9 of a batond, restarted 0.5-2.5 s later
#   worker-kill    kill -9 of a worker (mid-activity), restarted 0.5-2.5 s later
#   redis-restart  kill -9 of redis-server and restart on its AOF
#   embedded (the mock cluster's control commands):
#   broker-errors  1-10 Kafka errors pushed on one request type, cleared 2 s later
#   broker-down    one of the 3 brokers down for 1-3 s
#   leader         a partition's leader moved to another broker
#   rtt            250 ms added to one broker's round trips for 2 s
#   apache:
#   broker-kill    kill -9 of a Kafka node (its leaderships move once the
#                  controller fences it; the time that takes is measured
#                  and logged), restarted 5-15 s after the kill
#   broker-stop    SIGSTOP of a Kafka node for 2-6 s, then SIGCONT
#
# A fault is logged to DIR/faults.log only once it succeeded, as
# "<start_ms> <end_ms> <kind> <detail>" (start: the kill or the first
# action; end: the process back up, the fault cleared).  A fault that
# cannot be injected is logged as "<ms> <ms> inject-error <kind> <why>",
# which fails the run (the checker counts it as a violation).  Then it
# heals everything, waits (CHAOS_SETTLE_S, default 240 s at most) for
# every workflow to complete and every partition of a killed batond to be
# taken again, and runs `baton-chaos check --kinds ...`,
# which prints the table and exits non-zero on any violation, incomplete
# workflow or fault kind that never occurred; so does this script.  The
# seed (printed) fixes the fault schedule and the load's inputs; process
# timing still varies from run to run.
#
# Environment: BROKER (embedded or apache), CHAOS_DIR (default a new
# /tmp/baton-chaos.XXXXXX, removed after a passing run, kept with its logs
# after a failing one), CHAOS_RATE (workflows/s, default 4), CHAOS_BATONDS
# (3), CHAOS_WORKERS (2), CHAOS_SESSION_MS (consumer session.timeout.ms,
# default 4000 embedded, 10000 apache), CHAOS_KINDS (the fault kinds, default every kind of the
# broker), BATON_BIN (binaries, default build/bin).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/stack-lib.sh

DURATION=${1:-${DURATION:-60}}
SEED=${2:-${SEED:-$(date +%s)}}
RATE=${CHAOS_RATE:-4}
NBATOND=${CHAOS_BATONDS:-3}
NWORKER=${CHAOS_WORKERS:-2}
SESSION_MS=${CHAOS_SESSION_MS:-}
SETTLE_S=${CHAOS_SETTLE_S:-240}
DIR=${CHAOS_DIR:-$(mktemp -d /tmp/baton-chaos.XXXXXX)}
PARTS=8
RANDOM=$SEED
WORKFLOWS_DIR=tests/chaos/workflows
FAULTS=$DIR/faults.log
TOPICS=(commands results events tasks.default)
APIS=(Produce Fetch OffsetCommit Heartbeat Metadata FindCoordinator)
ERRS=(NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT _TRANSPORT NOT_COORDINATOR
      LEADER_NOT_AVAILABLE)
case "${BROKER:=embedded}" in
apache)
  export KAFKA_NODES=3
  # 10 s: at 4 s, members on this loaded 2-core machine (3 JVMs) lost their
  # group session without any fault (4.2 s without a heartbeat answer).
  SESSION_MS=${SESSION_MS:-10000}
  DEVSTACK_ARGS="--session-timeout-ms $SESSION_MS --heartbeat-ms 400"
  DEFAULT_KINDS="batond-kill worker-kill redis-restart broker-kill broker-stop"
  ;;
embedded)
  SESSION_MS=${SESSION_MS:-4000}
  DEVSTACK_ARGS="--brokers 3 --session-timeout-ms $SESSION_MS --heartbeat-ms 400"
  DEFAULT_KINDS="batond-kill worker-kill redis-restart broker-errors broker-down leader rtt"
  ;;
*) echo "chaos: BROKER must be apache or embedded, not '$BROKER'" >&2; exit 2 ;;
esac
read -r -a KINDS <<<"${CHAOS_KINDS:-$DEFAULT_KINDS}"
INJECT_ERRORS=0
DIED=0 # processes that died without a fault: each fails the run

mkdir -p "$DIR"
: > "$FAULTS"
trap stack_down EXIT
echo "chaos: seed $SEED, $DURATION s of faults, $RATE workflows/s, $NBATOND batond," \
     "$NWORKER workers, logs in $DIR"

now_ms() { date +%s%3N; }
# fault_ok START_MS END_MS KIND DETAIL...: a fault that succeeded.
fault_ok() {
  local t0=$1 t1=$2; shift 2
  echo "$t0 $t1 $*" >> "$FAULTS"
  echo "  $(date +%T) fault: $* ($((t1 - t0)) ms)"
}
# inject_error KIND WHY...: a fault that could not be injected fails the run.
inject_error() {
  local t; t=$(now_ms)
  echo "$t $t inject-error $*" >> "$FAULTS"
  echo "chaos: FAULT NOT INJECTED: $*" >&2
  INJECT_ERRORS=$((INJECT_ERRORS + 1))
}
# sleep_rand MIN_MS MAX_MS
sleep_rand() {
  local ms=$(($1 + RANDOM % ($2 - $1 + 1)))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

BATONDS=()
WORKERS=()
start_batond() { batond_up "batond-$1"; BATONDS[$1]=$LAST_PID; }
start_worker() {
  worker_up "worker-$1" --concurrency 16 --exec-log "$DIR/exec.log" \
    --start-log "$DIR/start.log" --name "worker-$1"
  WORKERS[$1]=$LAST_PID
}

# Waits until every batond took partitions and none took any for 2 s.
wait_group() {
  local t i n prev= cur
  for t in $(seq 1 60); do
    cur= n=0
    for i in $(seq 0 $((NBATOND - 1))); do
      c=$(grep -c "took partition" "$DIR/batond-$i.log" 2>/dev/null || true)
      c=${c:-0}
      cur="$cur/$c"
      [ "$c" -gt 0 ] && n=$((n + 1))
    done
    [ $n -eq "$NBATOND" ] && [ "$cur" == "$prev" ] && return 0
    prev=$cur
    sleep 2
  done
  echo "chaos: the batond group did not form" >&2
  return 1
}

# ---- the faults -----------------------------------------------------------
# Each returns non-zero when the fault could not be injected; it logs the
# fault (fault_ok) only after it succeeded.

f_batond_kill() {
  local i=$((RANDOM % NBATOND)) pid t0
  pid=${BATONDS[$i]}
  kill -0 "$pid" 2>/dev/null || { WHY="batond-$i (pid $pid) is not running"; return 1; }
  t0=$(now_ms)
  proc_kill9 "$pid"
  kill -0 "$pid" 2>/dev/null && { WHY="batond-$i survived kill -9"; return 1; }
  sleep_rand 500 2500
  start_batond $i
  fault_ok "$t0" "$(now_ms)" batond-kill "batond-$i pid $pid new-pid ${BATONDS[$i]}"
}

f_worker_kill() {
  local i=$((RANDOM % NWORKER)) pid t0
  pid=${WORKERS[$i]}
  kill -0 "$pid" 2>/dev/null || { WHY="worker-$i (pid $pid) is not running"; return 1; }
  t0=$(now_ms)
  proc_kill9 "$pid"
  kill -0 "$pid" 2>/dev/null && { WHY="worker-$i survived kill -9"; return 1; }
  sleep_rand 500 2500
  start_worker $i
  fault_ok "$t0" "$(now_ms)" worker-kill "worker-$i pid $pid new-pid ${WORKERS[$i]}"
}

f_redis_restart() {
  local t0; t0=$(now_ms)
  stack_control redis-restart || return 1
  fault_ok "$t0" "$(now_ms)" redis-restart "kill -9 and restart on the AOF"
}

f_broker_errors() {
  local api=${APIS[$((RANDOM % ${#APIS[@]}))]} err=${ERRS[$((RANDOM % ${#ERRS[@]}))]}
  local cnt=$((1 + RANDOM % 10)) t0
  t0=$(now_ms)
  stack_control push-errors "$api" "$cnt" "$err" || return 1
  sleep 2
  stack_control clear-errors "$api" || return 1
  fault_ok "$t0" "$(now_ms)" broker-errors "$cnt x $err on $api"
}

f_broker_down() {
  local b=$((1 + RANDOM % 3)) t0
  t0=$(now_ms)
  stack_control broker-down $b || return 1
  sleep_rand 1000 3000
  stack_control broker-up $b || return 1
  fault_ok "$t0" "$(now_ms)" broker-down "broker $b"
}

f_leader() {
  local t=${TOPICS[$((RANDOM % ${#TOPICS[@]}))]} p=$((RANDOM % PARTS)) b=$((1 + RANDOM % 3)) t0
  t0=$(now_ms)
  stack_control leader "baton.$t" $p $b || return 1
  fault_ok "$t0" "$(now_ms)" leader "baton.$t [$p] -> broker $b"
}

f_rtt() {
  local b=$((1 + RANDOM % 3)) t0
  t0=$(now_ms)
  stack_control rtt $b 250 || return 1
  sleep 2
  stack_control rtt $b 0 || return 1
  fault_ok "$t0" "$(now_ms)" rtt "broker $b +250 ms for 2 s"
}

# Lines of the survivors' logs saying the controller fenced node $1.
fenced_count() {
  cat "$STACK_DIR"/kafka/node-*/server.log 2>/dev/null |
    grep -c "Fencing broker $1 because" || true
}

f_broker_kill() {
  local n=$((1 + RANDOM % 3)) pid t0 before fenced=-1 t
  pid=${KAFKA_PIDS[$((n - 1))]}
  kill -0 "$pid" 2>/dev/null || { WHY="Kafka node $n (pid $pid) is not running"; return 1; }
  before=$(fenced_count $n)
  t0=$(now_ms)
  stack_kafka_kill9 $n || return 1
  kill -0 "$pid" 2>/dev/null && { WHY="Kafka node $n survived kill -9"; return 1; }
  # The controller fences it (its leaderships move) after
  # broker.session.timeout.ms without a heartbeat: measured here.
  for t in $(seq 1 300); do
    if [ "$(fenced_count $n)" -gt "$before" ]; then fenced=$(( $(now_ms) - t0 )); break; fi
    sleep 0.1
  done
  [ "$fenced" -ge 0 ] || { WHY="Kafka node $n was not fenced within 30 s"; return 1; }
  sleep_rand 5000 15000
  # One retry: once in a 10-minute run a restarted node's JVM exited during
  # its start without a line of output (the loaded shared machine), and once
  # it was still starting when kafka.sh wait gave up (a JVM that never
  # exits: waiting for it hung the run); the retry and what became of the
  # first attempt are in the fault's detail.
  local retried=
  if ! stack_kafka_restart $n >/dev/null 2>&1; then
    local st=0 p=${KAFKA_PIDS[$((n - 1))]}
    if kill -0 "$p" 2>/dev/null; then
      st="still starting, killed"
      proc_kill9 "$p"
    else
      wait "$p" 2>/dev/null || st=$?
    fi
    retried=" restart-retried (first attempt: $st)"
    stack_kafka_restart $n >/dev/null || { WHY="Kafka node $n did not restart (twice)"; return 1; }
  fi
  fault_ok "$t0" "$(now_ms)" broker-kill "node $n pid $pid fenced-ms $fenced new-pid ${KAFKA_PIDS[$((n - 1))]}$retried"
}

f_broker_stop() {
  local n=$((1 + RANDOM % 3)) pid t0
  pid=${KAFKA_PIDS[$((n - 1))]}
  kill -0 "$pid" 2>/dev/null || { WHY="Kafka node $n (pid $pid) is not running"; return 1; }
  t0=$(now_ms)
  stack_kafka_signal $n STOP || return 1
  sleep_rand 2000 6000
  stack_kafka_signal $n CONT || return 1
  fault_ok "$t0" "$(now_ms)" broker-stop "node $n pid $pid"
}

inject() {
  local rc=0
  WHY=
  case $1 in
    batond-kill) f_batond_kill 2>"$DIR/inject.err" || rc=$? ;;
    worker-kill) f_worker_kill 2>"$DIR/inject.err" || rc=$? ;;
    redis-restart) f_redis_restart 2>"$DIR/inject.err" || rc=$? ;;
    broker-errors) f_broker_errors 2>"$DIR/inject.err" || rc=$? ;;
    broker-down) f_broker_down 2>"$DIR/inject.err" || rc=$? ;;
    leader) f_leader 2>"$DIR/inject.err" || rc=$? ;;
    rtt) f_rtt 2>"$DIR/inject.err" || rc=$? ;;
    broker-kill) f_broker_kill 2>"$DIR/inject.err" || rc=$? ;;
    broker-stop) f_broker_stop 2>"$DIR/inject.err" || rc=$? ;;
    *) WHY="unknown fault kind"; rc=1 ;;
  esac
  [ $rc -eq 0 ] && return 0
  inject_error "$1" "$WHY $(tr '\n' ' ' <"$DIR/inject.err" | cut -c1-300)"
}

# One round: every kind once, in a seeded random order.
shuffled_kinds() {
  local k=("${KINDS[@]}") i j t
  for ((i = ${#k[@]} - 1; i > 0; i--)); do
    j=$((RANDOM % (i + 1)))
    t=${k[$i]}; k[$i]=${k[$j]}; k[$j]=$t
  done
  echo "${k[@]}"
}

# A process that died on its own (no fault killed it): a finding.
died() {
  DIED=$((DIED + 1))
  echo "chaos: FINDING: $1 died without a fault; the last error lines of its log:" >&2
  grep -E "ERROR|FATAL|fatal" "$DIR/$1.log" | tail -n 3 | cut -c1-300 >&2
}

# Brings every fault back: errors cleared, brokers up, Redis running,
# every batond and worker alive.
heal() {
  local api i
  if [ "$BROKER" = embedded ]; then
    for api in "${APIS[@]}"; do stack_control clear-errors "$api" || true; done
    stack_control broker-up -1 || true
    stack_control rtt -1 0 || true
  else
    for i in 1 2 3; do
      stack_kafka_signal $i CONT 2>/dev/null ||
        { echo "Kafka node $i had died" >&2; stack_kafka_restart $i >/dev/null || true; }
    done
  fi
  stack_control redis-start || true
  for i in $(seq 0 $((NBATOND - 1))); do
    kill -0 "${BATONDS[$i]}" 2>/dev/null || { died "batond-$i"; start_batond "$i"; }
  done
  for i in $(seq 0 $((NWORKER - 1))); do
    kill -0 "${WORKERS[$i]}" 2>/dev/null || { died "worker-$i"; start_worker "$i"; }
  done
}

# ---- the run --------------------------------------------------------------

stack_up "$DIR" $PARTS default
for i in $(seq 0 $((NWORKER - 1))); do start_worker "$i"; done
for i in $(seq 0 $((NBATOND - 1))); do start_batond "$i"; done
wait_group
echo "chaos: group formed; load and faults start"

"$BIN/baton-chaos" load --dir "$DIR" --rate "$RATE" --duration "$DURATION" \
    --seed "$SEED" --id-prefix chaos >> "$DIR/load-gen.log" 2>&1 &
LOAD=$!
STACK_PIDS+=($LOAD)
T_END=$(( $(date +%s) + DURATION ))
ROUND=0
while [ $ROUND -eq 0 ] || [ "$(date +%s)" -lt $T_END ]; do
  for kind in $(shuffled_kinds); do
    # The first round always completes: every kind occurs at least once.
    [ $ROUND -eq 0 ] || [ "$(date +%s)" -lt $T_END ] || break
    sleep_rand 2000 5000
    inject "$kind"
  done
  ROUND=$((ROUND + 1))
done
echo "chaos: faults stop; healing"
heal
wait $LOAD || echo "chaos: the load reported undelivered commands (see $DIR/load-gen.log)" >&2

# Settled: every workflow completed and every partition of a killed batond
# taken again (a kill among the last faults is handed over a session
# time-out later, possibly after the last workflow completed).
echo "chaos: waiting up to $SETTLE_S s for every workflow to complete and every killed batond's partitions to be taken again"
settled() {
  case $1 in *'"workflows_incomplete":0,'*) ;; *) return 1 ;; esac
  case $1 in *'"partitions_not_taken_again":0,'*) ;; *) return 1 ;; esac
}
for t in $(seq 1 $((SETTLE_S / 2))); do
  out=$("$BIN/baton-chaos" check --dir "$DIR" --id-prefix chaos --json 2>/dev/null || true)
  settled "$out" && break
  sleep 2
done
echo "chaos: seed $SEED, duration $DURATION s"
rc=0
"$BIN/baton-chaos" check --dir "$DIR" --id-prefix chaos --batonctl "$BIN/batonctl" \
    --sample 10 --kinds "$(IFS=,; echo "${KINDS[*]}")" --session-ms "$SESSION_MS" || rc=$?
[ $INJECT_ERRORS -eq 0 ] || { echo "chaos: $INJECT_ERRORS fault(s) could not be injected"; rc=1; }
[ $DIED -eq 0 ] || { echo "chaos: $DIED process(es) died without a fault (FINDING above)"; rc=1; }
if [ $rc -eq 0 ]; then
  echo "chaos: PASS (seed $SEED)"
  if [ -z "${CHAOS_DIR:-}" ]; then # our own folder: nothing to look at
    stack_down
    rm -rf "$DIR"
  fi
else
  echo "chaos: FAIL (seed $SEED, logs in $DIR)"
fi
exit $rc
