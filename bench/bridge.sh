#!/usr/bin/env bash
# bench/bridge.sh -- make bench-bridge N=50000: baton-bridge throughput on
# the dev stack (broker, Redis, batond and the bridge on this machine):
# source events per second turned into acknowledged START commands, and
# runs started per second by batond.
#
# A trigger maps JSON events {"type":"order.created","orderId":...} on
# bench.orders (auto-created: the broker's num.partitions, 4 on the dev
# stack) to START of bench-echo, a one-Pass-state workflow that ends at
# once (no worker).  Warm-up, not measured: WARMUP events (default 5000)
# go through a first bridge (consumer groups form, the broker's JIT
# compiles).  That bridge stops (SIGTERM: drains and commits), the N
# events are produced as a backlog, and a second bridge starts on it: the
# figures are measured from its first command to the last, sampling both
# processes' /metrics every 100 ms:
#   bridge:  baton_bridge_commands_total - baton_bridge_inflight
#            (commands Kafka acknowledged)
#   batond:  baton_runs_started_total
# The machine is shared: the load average is printed with the figures.
# BROKER=apache|embedded picks the broker (stack-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50000}
WARMUP=${WARMUP:-5000}
source scripts/stack-lib.sh
DIR=build/bench-bridge
rm -rf "$DIR"
mkdir -p "$DIR/workflows" "$DIR/triggers"
trap stack_down EXIT
echo '{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}' \
  >"$DIR/workflows/bench-echo.asl.json"
cat >"$DIR/triggers/bench-orders.json" <<'EOC'
{"topics": ["bench.orders"], "format": "json",
 "filter": {"Variable": "$.value.type", "StringEquals": "order.created"},
 "action": {"type": "start", "workflow_type": "bench-echo",
            "id.$": "States.Format('bench-{}', $.value.orderId)",
            "input.$": "$.value"}}
EOC
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BATOND_M=$(free_port)
BRIDGE_M=$(free_port)
stack_up "$DIR" "${PARTITIONS:-8}" default
WORKFLOWS_DIR=$DIR/workflows batond_up batond --set log.level=warn \
  --set batond.metrics.listen=127.0.0.1:$BATOND_M
bridge_up() {
  _bg "$1" "$BIN/baton-bridge" --triggers "$DIR/triggers" --set log.level=warn \
    --set bridge.metrics.listen=127.0.0.1:$BRIDGE_M
  BRIDGE=$LAST_PID
}
metric() { # PORT NAME -> value summed over its labels (0: not there yet)
  { curl -s "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } |
    awk -v n="$2" '{k=$1; sub(/\{.*/, "", k)} k==n {v+=$2} END {printf "%d\n", v+0}'
}
events() { # FROM COUNT -> JSON lines "key<TAB>value"
  awk -v a="$1" -v n="$2" 'BEGIN { for (i = a; i < a + n; i++)
    printf "k%d\t{\"type\":\"order.created\",\"orderId\":\"O%d\",\"amount\":%d,\"customer\":\"c%d\"}\n", i, i, i % 1000, i % 97 }'
}
wait_metric() { # PORT NAME TARGET TIMEOUT_S
  local end=$((SECONDS + $4))
  while [ "$(metric "$1" "$2")" -lt "$3" ]; do
    [ $SECONDS -lt "$end" ] || { echo "timed out waiting for $2 >= $3" >&2; return 1; }
    sleep 0.2
  done
}

echo "== warm-up: $WARMUP events"
events 0 "$WARMUP" | "$BIN/baton-kafka" produce bench.orders --lines
bridge_up bridge-warmup
wait_metric "$BATOND_M" baton_runs_started_total "$WARMUP" 300
proc_stop "$BRIDGE"

echo "== backlog: $N events on bench.orders"
events "$WARMUP" "$N" >"$DIR/events.txt"
"$BIN/baton-kafka" produce bench.orders --lines <"$DIR/events.txt"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bridge_up bridge
# samples "time acknowledged-commands runs-started" until both reach N
: >"$DIR/samples.txt"
end=$((SECONDS + 600))
while :; do
  [ $SECONDS -lt "$end" ] || { echo "timed out" >&2; exit 1; }
  now=$(date +%s.%N)
  c=$(metric "$BRIDGE_M" baton_bridge_commands_total)
  f=$(metric "$BRIDGE_M" baton_bridge_inflight)
  r=$(($(metric "$BATOND_M" baton_runs_started_total) - WARMUP))
  echo "$now $((c - f)) $r" >>"$DIR/samples.txt"
  [ $((c - f)) -ge "$N" ] && [ "$r" -ge "$N" ] && break
  sleep 0.05
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
# The rate between the first and the last sample strictly inside (0, N)
# (the steady state, free of the sampling step at both ends), and the
# whole span from the first sample above 0 to the first at N.
awk -v n="$N" -v lb="$load_before" -v la="$load_after" -v cpus="$(nproc)" \
    -v broker="${BROKER:-embedded}" '
  function take(col, t, v) {
    if (v > 0 && !(col in t0)) t0[col] = t
    if (v > 0 && v < n) { if (!(col in a)) { a[col] = t; av[col] = v } b[col] = t; bv[col] = v }
    if (v >= n && !(col in tn)) tn[col] = t
  }
  { take(2, $1, $2); take(3, $1, $3) }
  END {
    for (col = 2; col <= 3; col++) {
      rate[col] = (b[col] > a[col]) ? (bv[col] - av[col]) / (b[col] - a[col]) : 0
      span[col] = tn[col] - t0[col]
    }
    printf "bridge: %d events -> acknowledged START commands: %.0f events/s (steady), all in %.2f s\n", n, rate[2], span[2]
    printf "batond: %d runs started: %.0f runs/s (steady), all in %.2f s\n", n, rate[3], span[3]
    printf "broker %s, %d cores, load average before %s, after %s\n", broker, cpus, lb, la
}' "$DIR/samples.txt" | tee "$DIR/result.txt"
