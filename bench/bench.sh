#!/usr/bin/env bash
# bench/bench.sh -- make bench N=2000 K=3 C=50: N workflows of K no-op
# activity steps with C in flight on the dev stack (broker, Redis, batond and
# one worker all on this machine), then one workflow at a time for latency,
# then the Redis memory of workflows waiting on a signal.  Prints the figures;
# stops everything.
#
# Also printed: the Kafka hop latency on this broker (produce -> consume, one
# message in flight), and the CPU seconds each process spent in the
# throughput phase (utime + stime from /proc/PID/stat, all threads, read
# before and after; the load generator reports its own), so the bottleneck
# is named.  BROKER=apache|embedded picks the broker (stack-lib.sh).
# BATONDS=2 (default 1) runs the throughput phase a second time with two
# batond instances sharing the same partitions (one consumer group).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}; K=${2:-3}; C=${3:-50}
source scripts/stack-lib.sh
export KAFKA_JMX=1 # Apache Kafka: request counts over JMX (kafka.sh requests)
DIR=build/bench
rm -rf "$DIR"; mkdir -p "$DIR/workflows"
trap stack_down EXIT
cp config/workflows/*.json "$DIR/workflows/"
# A definition of K no-op activity steps.
{
  echo '{"Comment":"bench: '"$K"' no-op steps","StartAt":"S1","States":{'
  for i in $(seq 1 "$K"); do
    sep=,; [ "$i" -eq "$K" ] && sep=
    if [ "$i" -eq "$K" ]; then nxt='"End":true'; else nxt="\"Next\":\"S$((i+1))\""; fi
    echo "\"S$i\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:default/noop\",\"ResultPath\":null,$nxt}$sep"
  done
  echo '}}'
} > "$DIR/workflows/bench-steps.asl.json"
# FETCH_WAIT_MS=0 runs the same bench with consumers that never wait on an
# empty fetch: hops drop from ~1.4 ms to ~0.2 ms on the embedded broker, at
# the price of busy polling (about 1.3 cores while idle).
# BENCH_SET="key=value ..." sets more Baton config keys for every process
# (A/B runs of client settings, e.g. kafka.producer.linger.ms=1).
: >"$DIR/extra.conf"
[ -n "${FETCH_WAIT_MS:-}" ] && echo "kafka.consumer.fetch.wait.max.ms = $FETCH_WAIT_MS" >>"$DIR/extra.conf"
for kv in ${BENCH_SET:-}; do echo "${kv%%=*} = ${kv#*=}" >>"$DIR/extra.conf"; done
if [ -s "$DIR/extra.conf" ]; then
  export BATON_CONFIG=$PWD/$DIR/extra.conf
  echo "== extra settings: $(tr '\n' ';' <"$DIR/extra.conf")"
fi
stack_up "$DIR" "${PARTITIONS:-8}" default
WORKFLOWS_DIR=$DIR/workflows batond_up batond --stats-file "$DIR/batond-stats.json" \
    --set log.level=warn
BATOND=$LAST_PID
worker_up worker --concurrency "${WORKER_CONCURRENCY:-64}"
WORKER_PID=$LAST_PID
# Warm-up, not measured: the consumer groups form (the embedded broker
# delays a new group's first assignment by ~3 s) and caches fill.  On Apache
# Kafka also the broker's JIT: with the former 100-workflow warm-up its C2
# compiler threads took 4.2-6.3 of the broker's 10.5-17.5 CPU seconds in
# the measured phase (40%); WARMUP workflows at C in flight (default 3000
# on Apache Kafka, 100 on the embedded broker) leave the JVM compiled.
if [ "${BROKER:-embedded}" = apache ]; then WARMUP=${WARMUP:-3000}; else WARMUP=${WARMUP:-100}; fi
"$BIN/baton-bench" --workflows "$WARMUP" --steps "$K" --concurrency "$C" \
    --type bench-steps --timeout 300 >/dev/null 2>&1 || true

# CPU ticks (utime + stime, all threads) of a live process; 0 when gone.
cpu_ticks() {
  local f
  f=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  f=${f##*) } # fields after "(comm) ", the first being field 3 (state)
  # shellcheck disable=SC2086
  set -- $f
  echo $((${12} + ${13}))
}
HZ=$(getconf CLK_TCK)
# "tid ticks name" of every thread of a process (name: comm, digits and
# dashes trimmed, so the JVM's thread pools group: C2 CompilerThread,
# data-plane-kafka-request-handler, ...).
thread_ticks() {
  local t f name
  for t in /proc/"$1"/task/*; do
    f=$(cat "$t/stat" 2>/dev/null) || continue
    name=${f#*(}; name=${name%%) *}
    f=${f##*) }
    # shellcheck disable=SC2086
    set -- $f
    echo "${t##*/} $((${12} + ${13})) $(echo "$name" | tr -d '0-9' | sed 's/[- ]*$//; s/ /_/g')"
  done
}
# The broker's CPU in this phase by thread group (threads that ended in
# between are missed), from two thread_ticks snapshots.
thread_table() {
  awk -v hz="$HZ" 'NR==FNR {b[$1]=$2; next}
      {c[$3]+=$2-b[$1]} END {for (k in c) if (c[k] > 0) printf "%s %.2f\n", k, c[k]/hz}' "$1" "$2" |
    sort -k2 -nr | head -n 8 | awk '{printf "  %-40s %6.2f\n", $1, $2}'
}
# The processes whose CPU is accounted, as "name pid" lines.
cpu_procs() {
  local i=0 pid
  for pid in "${KAFKA_PIDS[@]}"; do i=$((i + 1)); echo "kafka-$i $pid"; done
  for pid in "${BATONDS_PIDS[@]}"; do echo "${STACK_NAME[$pid]} $pid"; done
  echo "worker $WORKER"
  pid=$(ps -o pid=,comm= --ppid "$DEVSTACK_PID" 2>/dev/null | awk '$2 ~ /redis/ {print $1; exit}')
  [ -n "$pid" ] && echo "redis $pid"
  echo "devstack $DEVSTACK_PID"
}
# "topic end-offset" per partition of every topic (Kafka's GetOffsetShell).
topic_ends() {
  "$KAFKA_SH" tool org.apache.kafka.tools.GetOffsetShell \
      --bootstrap-server "$(cat "$STACK_DIR/kafka/bootstrap")" 2>/dev/null |
    awk -F: '{print $1, $3}'
}
# One throughput run with the CPU table: TAG names the output files.
throughput() {
  local tag=$1 name pid t0 t1 out wall
  declare -A before=()
  [ -n "${KAFKA_PIDS[*]:-}" ] && "$KAFKA_SH" requests "$STACK_DIR" 1 >"$DIR/requests-$tag.before"
  [ -n "${KAFKA_PIDS[*]:-}" ] && topic_ends >"$DIR/offsets-$tag.before"
  [ -n "${KAFKA_PIDS[*]:-}" ] && thread_ticks "${KAFKA_PIDS[0]}" >"$DIR/threads-$tag.before"
  while read -r name pid; do before[$name]=$(cpu_ticks "$pid"); done < <(cpu_procs)
  t0=$(date +%s%N)
  "$BIN/baton-bench" --workflows "$N" --steps "$K" --concurrency "$C" \
      --type bench-steps --timeout 300 | tee "$DIR/throughput-$tag.txt"
  t1=$(date +%s%N)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b-a)/1e9}')
  echo "-- CPU seconds in this phase ($wall s wall, $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  while read -r name pid; do
    awk -v n="$name" -v a="${before[$name]}" -v b="$(cpu_ticks "$pid")" -v hz="$HZ" -v w="$wall" \
        'BEGIN{s=(b-a)/hz; printf "cpu_s %-12s %6.1f  (%3.0f%% of one core)\n", n, s, 100*s/w}'
  done < <(cpu_procs) | tee "$DIR/cpu-$tag.txt"
  if [ -n "${KAFKA_PIDS[*]:-}" ]; then
    thread_ticks "${KAFKA_PIDS[0]}" >"$DIR/threads-$tag.after"
    echo "   kafka-1 by thread group (CPU s):"
    thread_table "$DIR/threads-$tag.before" "$DIR/threads-$tag.after" | tee -a "$DIR/cpu-$tag.txt"
  fi
  out=$(awk '$1=="cpu_s"{print $2}' "$DIR/throughput-$tag.txt")
  printf 'cpu_s %-12s %6s  (%3.0f%% of one core)\n' load-generator "$out" \
      "$(awk -v s="$out" -v w="$wall" 'BEGIN{print (s+0)*100/w}')" | tee -a "$DIR/cpu-$tag.txt"
  if [ -n "${KAFKA_PIDS[*]:-}" ]; then
    "$KAFKA_SH" requests "$STACK_DIR" 1 >"$DIR/requests-$tag.after"
    topic_ends >"$DIR/offsets-$tag.after"
    echo "-- messages written in this phase, by topic"
    awk -v n="$N" 'NR==FNR {b[$1]+=$2; next} {a[$1]+=$2}
        END {for (k in a) if (a[k]-b[k] > 0) printf "messages %-22s %7d  %6.2f per workflow\n", k, a[k]-b[k], (a[k]-b[k])/n}' \
        "$DIR/offsets-$tag.before" "$DIR/offsets-$tag.after" | sort -k3 -nr | tee "$DIR/messages-$tag.txt"
    echo "-- requests served by the broker in this phase (node 1, JMX RequestsPerSec counts)"
    awk -v n="$N" -v w="$wall" 'NR==FNR {b[$1]=$2; next}
        {d=$2-b[$1]; if (d>0) printf "requests %-18s %7d  %7.1f/s  %6.2f per workflow\n", $1, d, d/w, d/n}' \
        "$DIR/requests-$tag.before" "$DIR/requests-$tag.after" | sort -k3 -nr | tee "$DIR/requests-$tag.txt"
  fi
}
DEVSTACK_PID=${STACK_PIDS[0]}
WORKER=$WORKER_PID
BATONDS_PIDS=("$BATOND")

echo "== Kafka hop latency on this broker (${BROKER:-embedded}): produce -> consume, one in flight"
"$BIN/baton-bench" --workflows 0 --hops --timeout 60 | grep -E '^hop_ms' | tee "$DIR/hops.txt"

echo
echo "== throughput: N=$N workflows, K=$K steps, C=$C in flight, 1 batond"
throughput 1
if [ "${BATONDS:-1}" -ge 2 ]; then
  # A second instance joins the group: the partitions are split (the
  # first revokes, both take over from Redis) before the measured phase.
  WORKFLOWS_DIR=$DIR/workflows batond_up batond-2 --set log.level=info
  BATONDS_PIDS+=("$LAST_PID")
  for i in $(seq 1 200); do
    grep -q "took partition" "$DIR/batond-2.log" 2>/dev/null && break
    sleep 0.1
  done
  sleep 2 # the group settles
  "$BIN/baton-bench" --workflows 100 --steps "$K" --concurrency 10 \
      --type bench-steps --timeout 60 >/dev/null 2>&1 || true
  echo
  echo "== throughput: N=$N workflows, K=$K steps, C=$C in flight, 2 batond (same $((${PARTITIONS:-8})) partitions)"
  throughput 2
fi

echo
echo "== latency: 200 workflows of $K steps, one in flight (C=1)"
"$BIN/baton-bench" --workflows 200 --steps "$K" --concurrency 1 \
    --type bench-steps --hops --timeout 120 | tee "$DIR/latency.txt"

echo
echo "== Redis memory of workflows waiting on a signal"
"$BIN/baton-bench" --workflows 0 --memory-probe 2000 --signal-type wait-signal --timeout 120 \
    | tee "$DIR/memory.txt"

proc_stop "$BATOND" || true
echo
echo "== batond: step latency, result consumed -> next task handed to the producer"
cat "$DIR/batond-stats.json"
