#!/usr/bin/env bash
# bench/agent-growth.sh -- make bench-agent-growth [TURNS="25 50 100 200"]
# [MSG=2048]: what an agent's growing conversation costs, with the claim
# check (blob.threshold 64 KiB, common/blob.h) and without it (the full
# state in every step: blob.threshold = 0).
#
# The run: config/workflows/conversation.asl.json -- every turn a tool
# (baton-test-worker conv.turn) gets the whole conversation and returns a
# message of MSG bytes, appended to $.messages: the shape of a tool loop's
# state.  For each mode and each N of TURNS, one run of N turns on its own
# (messages unique to the run), then:
#   redis    bytes Redis holds for it: MEMORY USAGE of every key the run
#            added (snapshot, history, blobs, blob counts), as the
#            difference over all keys of the namespace before and after;
#   kafka    bytes of every message keyed by the run on the command, task,
#            result and event topics (baton-kafka consume --sizes);
#   history  bytes of the run's history list in Redis (the events' text);
#   blobs    blobs stored for it.
# Prints a Markdown table.  BROKER=apache (default; the embedded broker
# keeps only ~5 MiB per partition, less than the full-state run writes)
# or embedded.
set -euo pipefail
cd "$(dirname "$0")/.."
TURNS=${TURNS:-25 50 100 200}
MSG=${MSG:-2048}
export BROKER=${BROKER:-apache}
source scripts/stack-lib.sh
DIR=build/bench-growth
rm -rf "$DIR"; mkdir -p "$DIR"
trap stack_down EXIT
stack_up "$DIR" 4 default

rcli() {
  local url port
  url=$(sed -n 's/^redis.url *= *//p' "$BATON_STACK_FILE")
  port=${url##*:}
  redis-cli -p "${port%%/*}" "$@"
}
# Sum of MEMORY USAGE over every key of the namespace but the definitions.
redis_bytes() {
  rcli --scan --pattern 'baton:{p*}:*' | sort >"$DIR/keys"
  awk '{print "MEMORY USAGE " $0 " SAMPLES 0"}' "$DIR/keys" | rcli >"$DIR/usage" 2>/dev/null || true
  awk '{s+=$1} END{print s+0}' "$DIR/usage"
}
# Every message of the topics, once all runs are over: "topic partition
# offset bytes key" lines.
kafka_sizes() {
  local t
  for t in baton.commands baton.tasks.default baton.results baton.events; do
    "$BIN/baton-kafka" consume "$t" --sizes --timeout 20 | sed "s/^/$t /"
  done
}
hist_bytes() { # ID
  local p
  p=$("$BIN/baton-kafka" partition baton.commands "$1")
  rcli LRANGE "baton:{p$p}:hist:$1" 0 -1 | wc -c
}
blob_count() { rcli --scan --pattern 'baton:{p*}:blob:*' | wc -l; }

: >"$DIR/runs"
for mode in claim-check full-state; do
  CONF=$DIR/$mode.conf
  {
    [ "$mode" = full-state ] && echo "blob.threshold = 0"
    echo "batond.history.max = 1000000"
    echo "batond.limits.history.bytes.max = 0"
    echo "log.level = warn"
  } >"$CONF"
  worker_up "worker-$mode" --config "$CONF" --concurrency 4
  W=$LAST_PID
  batond_up "batond-$mode" --config "$CONF"
  B=$LAST_PID
  for n in $TURNS; do
    id="growth-$mode-$n"
    before=$(redis_bytes); blobs0=$(blob_count)
    t0=$(date +%s%3N)
    "$BIN/batonctl" start conversation --id "$id" \
      --input "{\"turns\":$n,\"bytes\":$MSG,\"tag\":\"$id\"}" >/dev/null
    "$BIN/batonctl" result "$id" --wait 900 >"$DIR/$id.out"
    t1=$(date +%s%3N)
    got=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["messages"]))' "$DIR/$id.out")
    [ "$got" = "$n" ] || { echo "$id: $got messages, expected $n" >&2; exit 1; }
    after=$(redis_bytes)
    hb=$(hist_bytes "$id")
    blobs=$(( $(blob_count) - blobs0 ))
    echo "$mode $n turns: redis $((after - before)) history $hb blobs $blobs ($((t1 - t0)) ms)"
    echo "$id $mode $n $((after - before)) $hb $blobs" >>"$DIR/runs"
  done
  proc_stop "$W" || true
  proc_stop "$B" || true
done
kafka_sizes >"$DIR/kafka-sizes"
{
  echo "| mode | turns | Redis bytes | Kafka bytes | history bytes | blobs | largest Kafka message |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  while read -r id mode n rb hb blobs; do
    kb=$(awk -v id="$id" '$5==id {s+=$4} END{print s+0}' "$DIR/kafka-sizes")
    big=$(awk -v id="$id" '$5==id && $4>m {m=$4} END{print m+0}' "$DIR/kafka-sizes")
    echo "| $mode | $n | $rb | $kb | $hb | $blobs | $big |"
  done <"$DIR/runs"
} >"$DIR/table.md"
echo
echo "message size $MSG bytes, broker $BROKER"
cat "$DIR/table.md"
