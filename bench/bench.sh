#!/usr/bin/env bash
# bench/bench.sh -- make bench N=2000 K=3 C=50: N workflows of K no-op
# activity steps with C in flight on the dev stack (broker, Redis, batond and
# one worker all on this machine), then one workflow at a time for latency,
# then the Redis memory of workflows waiting on a signal.  Prints the figures;
# stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}; K=${2:-3}; C=${3:-50}
source scripts/stack-lib.sh
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
if [ -n "${FETCH_WAIT_MS:-}" ]; then
  echo "kafka.consumer.fetch.wait.max.ms = $FETCH_WAIT_MS" > "$DIR/extra.conf"
  export BATON_CONFIG=$PWD/$DIR/extra.conf
fi
stack_up "$DIR" "${PARTITIONS:-8}" default
WORKFLOWS_DIR=$DIR/workflows batond_up batond --stats-file "$DIR/batond-stats.json" \
    --set log.level=warn
BATOND=$LAST_PID
worker_up worker --concurrency "${WORKER_CONCURRENCY:-64}"
# Warm-up, not measured: the consumer groups form (the embedded broker
# delays a new group's first assignment by ~3 s) and caches fill.
"$BIN/baton-bench" --workflows 100 --steps "$K" --concurrency 10 \
    --type bench-steps --timeout 60 >/dev/null 2>&1 || true

echo "== throughput: N=$N workflows, K=$K steps, C=$C in flight"
"$BIN/baton-bench" --workflows "$N" --steps "$K" --concurrency "$C" \
    --type bench-steps --hops --timeout 300 | tee "$DIR/throughput.txt"

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
