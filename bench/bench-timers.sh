#!/usr/bin/env bash
# bench/bench-timers.sh -- make bench-timers M=100000: batond's memory with M
# runs waiting on a signal with a 24 h TimeoutSeconds (one pending timer
# each), measured twice on the dev stack: with the default timer horizon
# (timers beyond 300 s stay in Redis) and with a horizon that keeps them all
# in memory. The snapshot cache is capped (batond.cache.max=1000) so that what
# is compared is the timers.  Prints, for each run, the most timers batond
# held in memory at once (its stats) and its peak RSS (VmHWM), which is
# dominated by Kafka client buffers at these counts.
set -euo pipefail
cd "$(dirname "$0")/.."
M=${1:-100000}
source scripts/stack-lib.sh
DIR=build/bench-timers
trap stack_down EXIT

run() {
  local horizon=$1 pid
  rm -rf "$DIR"; mkdir -p "$DIR/workflows"
  cat >"$DIR/workflows/gate.asl.json" <<'J'
{"StartAt": "Approve", "States": {"Approve": {"Type": "Task",
  "Resource": "baton:signal:approve", "TimeoutSeconds": 86400, "End": true}}}
J
  stack_up "$DIR" 8 default
  WORKFLOWS_DIR=$DIR/workflows batond_up batond --set log.level=warn \
      --stats-file "$DIR/stats.json" \
      --set batond.cache.max=1000 --set batond.timers.horizon.s="$horizon"
  pid=$LAST_PID
  "$BIN/baton-bench" --workflows 0 --memory-probe "$M" --signal-type gate \
      --timeout 1200 >"$DIR/probe.txt" 2>&1 || { cat "$DIR/probe.txt"; exit 1; }
  rss=$(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$pid/status)
  proc_stop "$pid" || true
  echo "horizon ${horizon} s: $(grep -i 'waiting' "$DIR/probe.txt" | head -n1 | tr -s ' '), timers held in batond's memory at most: $(grep -o '"timers_armed_max":[0-9]*' "$DIR/stats.json" | cut -d: -f2), batond peak RSS $rss"
  stack_down
  STACK_PIDS=()
}

echo "== batond memory with $M runs each holding a 24 h timer"
run 300
run 100000000
