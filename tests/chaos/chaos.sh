#!/usr/bin/env bash
# tests/chaos/chaos.sh -- the fault-injection suite (`make chaos DURATION=300`, and
# tests/integration/0012-chaos-short.sh for a short run; README.md here).
#
#   tests/chaos/chaos.sh [DURATION_S] [SEED]
#
# Starts a private dev stack (3 mock brokers, 8 partitions), CHAOS_BATONDS
# batond instances and CHAOS_WORKERS example workers (sharing one exec
# log), and a steady load of chaos-mix workflows (tests/chaos/workflows:
# activities, a retried flaky activity, a Wait timer, a signal) from
# `baton-chaos load`.  For DURATION_S seconds it injects one fault every
# 2-5 s, the kinds taken in a seeded random order (each kind once per
# round):
#
#   batond-kill    kill -9 of a batond, restarted 0.5-2.5 s later
#   worker-kill    kill -9 of a worker (mid-activity), restarted 0.5-2.5 s later
#   redis-restart  kill -9 of redis-server and restart on its AOF
#   broker-errors  1-10 Kafka errors pushed on one request type, cleared 2 s later
#   broker-down    one of the 3 brokers down for 1-3 s
#   leader         a partition's leader moved to another broker
#   rtt            250 ms added to one broker's round trips for 2 s
#
# Every fault is logged to DIR/faults.log ("<ms> <kind> <detail>").  Then
# it heals everything, waits (CHAOS_SETTLE_S, default 240 s at most) for
# every workflow to complete and runs `baton-chaos check`, which prints
# the table and exits non-zero on any violation or incomplete workflow;
# so does this script.  The seed (printed) fixes the fault schedule and the
# load's inputs; process timing still varies from run to run.
#
# Environment: CHAOS_DIR (default a new /tmp/baton-chaos.XXXXXX, removed
# after a passing run, kept with its logs after a failing one),
# CHAOS_RATE (workflows/s, default 4), CHAOS_BATONDS (3), CHAOS_WORKERS (2),
# CHAOS_SESSION_MS (consumer session.timeout.ms, default 4000),
# BATON_BIN (binaries, default build/bin).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/stack-lib.sh

DURATION=${1:-${DURATION:-60}}
SEED=${2:-${SEED:-$(date +%s)}}
RATE=${CHAOS_RATE:-4}
NBATOND=${CHAOS_BATONDS:-3}
NWORKER=${CHAOS_WORKERS:-2}
SESSION_MS=${CHAOS_SESSION_MS:-4000}
SETTLE_S=${CHAOS_SETTLE_S:-240}
DIR=${CHAOS_DIR:-$(mktemp -d /tmp/baton-chaos.XXXXXX)}
PARTS=8
RANDOM=$SEED
WORKFLOWS_DIR=tests/chaos/workflows
DEVSTACK_ARGS="--brokers 3 --session-timeout-ms $SESSION_MS --heartbeat-ms 400"
FAULTS=$DIR/faults.log
TOPICS=(commands results events tasks.default)
APIS=(Produce Fetch OffsetCommit Heartbeat Metadata FindCoordinator)
ERRS=(NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT _TRANSPORT NOT_COORDINATOR
      LEADER_NOT_AVAILABLE)
KINDS=(batond-kill worker-kill redis-restart broker-errors broker-down leader rtt)

mkdir -p "$DIR"
: > "$FAULTS"
trap stack_down EXIT
echo "chaos: seed $SEED, $DURATION s of faults, $RATE workflows/s, $NBATOND batond," \
     "$NWORKER workers, logs in $DIR"

now_ms() { date +%s%3N; }
fault() { echo "$(now_ms) $*" >> "$FAULTS"; echo "  $(date +%T) fault: $*"; }
# sleep_rand MIN_MS MAX_MS
sleep_rand() {
  local ms=$(($1 + RANDOM % ($2 - $1 + 1)))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

BATONDS=()
WORKERS=()
start_batond() { batond_up "batond-$1"; BATONDS[$1]=$LAST_PID; }
start_worker() {
  worker_up "worker-$1" --concurrency 16 --exec-log "$DIR/exec.log"
  WORKERS[$1]=$LAST_PID
}

# Waits until every batond took partitions and none took any for 2 s.
wait_group() {
  local t i n prev= cur
  for t in $(seq 1 60); do
    cur= n=0
    for i in $(seq 0 $((NBATOND - 1))); do
      c=$(grep -c "took partition" "$DIR/batond-$i.log" 2>/dev/null || true)
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

f_batond_kill() {
  local i=$((RANDOM % NBATOND))
  fault batond-kill "batond-$i pid ${BATONDS[$i]}"
  proc_kill9 "${BATONDS[$i]}"
  sleep_rand 500 2500
  start_batond $i
  fault batond-start "batond-$i pid ${BATONDS[$i]}"
}

f_worker_kill() {
  local i=$((RANDOM % NWORKER))
  fault worker-kill "worker-$i pid ${WORKERS[$i]}"
  proc_kill9 "${WORKERS[$i]}"
  sleep_rand 500 2500
  start_worker $i
  fault worker-start "worker-$i pid ${WORKERS[$i]}"
}

f_redis_restart() {
  fault redis-restart "kill -9 and restart on the AOF"
  stack_control redis-restart
}

f_broker_errors() {
  local api=${APIS[$((RANDOM % ${#APIS[@]}))]} err=${ERRS[$((RANDOM % ${#ERRS[@]}))]}
  local cnt=$((1 + RANDOM % 10))
  fault broker-errors "$cnt x $err on $api"
  stack_control push-errors "$api" "$cnt" "$err"
  sleep 2
  stack_control clear-errors "$api"
}

f_broker_down() {
  local b=$((1 + RANDOM % 3))
  fault broker-down "broker $b"
  stack_control broker-down $b
  sleep_rand 1000 3000
  stack_control broker-up $b
  fault broker-up "broker $b"
}

f_leader() {
  local t=${TOPICS[$((RANDOM % ${#TOPICS[@]}))]} p=$((RANDOM % PARTS)) b=$((1 + RANDOM % 3))
  fault leader "baton.$t [$p] -> broker $b"
  stack_control leader "baton.$t" $p $b
}

f_rtt() {
  local b=$((1 + RANDOM % 3))
  fault rtt "broker $b +250 ms for 2 s"
  stack_control rtt $b 250
  sleep 2
  stack_control rtt $b 0
}

inject() {
  case $1 in
    batond-kill) f_batond_kill ;;
    worker-kill) f_worker_kill ;;
    redis-restart) f_redis_restart ;;
    broker-errors) f_broker_errors ;;
    broker-down) f_broker_down ;;
    leader) f_leader ;;
    rtt) f_rtt ;;
  esac
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

# Brings every fault back: errors cleared, brokers up, Redis running,
# every batond and worker alive.
heal() {
  local api i
  for api in "${APIS[@]}"; do stack_control clear-errors "$api" || true; done
  stack_control broker-up -1 || true
  stack_control rtt -1 0 || true
  stack_control redis-start || true
  for i in $(seq 0 $((NBATOND - 1))); do
    kill -0 "${BATONDS[$i]}" 2>/dev/null || { echo "batond-$i had died" >&2; start_batond "$i"; }
  done
  for i in $(seq 0 $((NWORKER - 1))); do
    kill -0 "${WORKERS[$i]}" 2>/dev/null || { echo "worker-$i had died" >&2; start_worker "$i"; }
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
while [ "$(date +%s)" -lt $T_END ]; do
  for kind in $(shuffled_kinds); do
    [ "$(date +%s)" -lt $T_END ] || break
    sleep_rand 2000 5000
    inject "$kind" || echo "chaos: fault $kind could not be injected" >&2
  done
done
echo "chaos: faults stop; healing"
heal
wait $LOAD || echo "chaos: the load reported undelivered commands (see $DIR/load-gen.log)" >&2

echo "chaos: waiting up to $SETTLE_S s for every workflow to complete"
for t in $(seq 1 $((SETTLE_S / 2))); do
  out=$("$BIN/baton-chaos" check --dir "$DIR" --id-prefix chaos --json 2>/dev/null || true)
  case $out in *'"workflows_incomplete":0,'*) break ;; esac
  sleep 2
done
echo "chaos: seed $SEED, duration $DURATION s"
rc=0
"$BIN/baton-chaos" check --dir "$DIR" --id-prefix chaos --batonctl "$BIN/batonctl" \
    --sample 10 || rc=$?
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
