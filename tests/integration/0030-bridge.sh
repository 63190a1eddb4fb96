#!/usr/bin/env bash
# 0030: baton-bridge turns events on a user's own topics into workflows:
# order.created events (JSON) start runs with the mapped ids and inputs,
# a payment.settled CloudEvent (binary mode) signals a waiting run, a
# poison record goes to baton.dlq with its reason while the next records
# flow, and a kill -9 of the bridge mid-stream loses nothing: every source
# event's workflow exists exactly once, counted against the source topic,
# also when the kill lands while every command of a burst is still in the
# bridge's producer queue (the bridge commits only what Kafka acknowledged).
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
batond_up batond
worker_up worker
KT="$BIN/baton-kafka"
TRIG=config/triggers

bridge_up() { local name=$1; shift; _bg "$name" "$BIN/baton-bridge" --triggers "$TRIG" "$@"; }

# the user's topics exist before anyone subscribes (as in production)
echo '{"type":"hello"}' | "$KT" produce shop.orders --key warmup
echo '{}' | "$KT" produce shop.payments --key warmup \
  --header ce_specversion=1.0 --header ce_id=warm --header ce_source=/test \
  --header ce_type=payment.pending --header ce_subject=none
bridge_up bridge
BRIDGE=$LAST_PID

# 1. start with the mapped id and input
printf '%s\n' 'o1	{"type":"order.created","orderId":"A1","amount":12}' \
  'o2	{"type":"order.updated","orderId":"A1","amount":13}' |
  "$KT" produce shop.orders --lines
res=$(ctl result order-A1 --wait 60) || fail "order-A1 did not complete: $res"
grep -q '"orderId":"A1"' <<<"${res// /}" || fail "input not mapped: $res"
grep -q '"amount":12' <<<"${res// /}" || fail "amount not mapped: $res"
grep -q '"source":"shop.orders/' <<<"${res// /}" || fail "intrinsic over the event: $res"
pass "order.created starts order-A1 with the mapped input; order.updated is filtered out"

# 2. a CloudEvent signals a run waiting for it
ctl start wait-signal --id approval-77 --input '{"doc":"po-77"}' >/dev/null
waits_approve() { ctl describe approval-77 -o json 2>/dev/null | grep -q approve; }
wait_until 30 "approval-77 to wait for its signal" waits_approve
echo '{"paid":true,"by":"card"}' | "$KT" produce shop.payments --key 77 \
  --header ce_specversion=1.0 --header ce_id=pay-77 --header ce_source=/payments \
  --header ce_type=payment.settled --header ce_subject=77 \
  --header content-type=application/json
res=$(ctl result approval-77 --wait 60) || fail "signal did not reach the waiting run: $res"
grep -q '"by":"card"' <<<"${res// /}" || fail "signal payload lost: $res"
pass "a payment.settled CloudEvent (binary mode) signals approval-77"

# 3. poison records go to the DLQ with their reason; the next ones flow
printf '%s\n' 'p1	this is not json' \
  'p2	{"type":"order.created","amount":1}' \
  'p3	{"type":"order.created","orderId":"A2","amount":5}' |
  "$KT" produce shop.orders --lines
res=$(ctl result order-A2 --wait 60) || fail "the record after the poison did not flow: $res"
dlq=$("$KT" consume baton.dlq --count 3 --timeout 20) || fail "DLQ records missing: $dlq"
grep -q 'baton-error=undecodable (json): value is not JSON' <<<"$dlq" || fail "no undecodable reason: $dlq"
grep -q 'baton-error=template: States' <<<"$dlq" || fail "no template-failure reason: $dlq"
grep -q 'baton-trigger=order-created baton-source-topic=shop.orders' <<<"$dlq" || fail "DLQ headers: $dlq"
grep -q 'baton-error=unmatched' <<<"$dlq" || fail "unmatched warm-up CloudEvent not in the DLQ: $dlq"
grep -q 'this is not json' <<<"$dlq" || fail "DLQ lost the original value: $dlq"
pass "undecodable and unmappable records go to baton.dlq with their reason; the next record flows"

# 4. kill -9 of the bridge mid-stream loses nothing
N=300
for i in $(seq 1 $N); do
  printf 'k%d\t{"type":"order.created","orderId":"K%d","amount":%d}\n' "$i" "$i" "$i"
done > "$TEST_DIR/burst.txt"
"$KT" produce shop.orders --lines < "$TEST_DIR/burst.txt"
orders_at_least() { [ "$(redis --scan --pattern 'baton:*:wf:order-K*' | wc -l)" -ge "$1" ]; }
wait_until 30 "more than 20 orders before the kill" orders_at_least 21
proc_kill9 "$BRIDGE"
killed_at=$(redis --scan --pattern 'baton:*:wf:order-K*' | wc -l)
[ "$killed_at" -lt "$N" ] || echo "note: the bridge had finished before the kill ($killed_at)"
bridge_up bridge-restarted
BRIDGE=$LAST_PID
wait_until 60 "all $N orders started after the restart" orders_at_least "$N"
src=$("$KT" consume shop.orders --timeout 5 | grep -c '"orderId":"K' || true)
assert_eq "$src" "$N" "burst events on the source topic"
ids=$(redis --scan --pattern 'baton:*:wf:order-K*' | sed 's/.*:wf://' | sort)
assert_eq "$(wc -l <<<"$ids")" "$N" "workflows of the burst (killed at $killed_at)"
assert_eq "$(sort -u <<<"$ids" | wc -l)" "$N" "distinct workflows of the burst"
for i in 1 150 $N; do
  grep -qx "order-K$i" <<<"$ids" || fail "order-K$i missing"
done
res=$(ctl result "order-K$N" --wait 60) || fail "order-K$N did not complete: $res"
grep -q "\"amount\":$N" <<<"${res// /}" || fail "input of order-K$N: $res"
pass "kill -9 of the bridge after $killed_at of $N workflows: all $N exist, once each"

# The kill may land after the first bridge produced every command but
# before it committed: then the restarted one has nothing new to start, and
# only its assignment (once the dead member's session expires) lets it
# re-read and commit those records (their commands are deduplicated by
# batond).  Wait for that, or SIGTERM would stop a bridge that owned nothing.
bridge_caught_up() {
  grep -q 'trigger order-created: [0-9]* source partition(s) assigned' \
    "$TEST_DIR/bridge-restarted.log" || return 1
  local lag
  lag=$(ctl -o json -X bridge.triggers.dir="$TRIG" lag 2>/dev/null) || return 1
  /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if all(r["lag"] == 0 for r in d["partitions"] if r["group"] == "baton.bridge.order-created") else 1)' "$lag"
}
wait_until 90 "the restarted bridge to own shop.orders and commit every record" bridge_caught_up
proc_stop "$BRIDGE" || fail "the bridge did not exit 0 on SIGTERM"
grep -q 'stopped:' "$TEST_DIR/bridge-restarted.log" || fail "no clean stop logged"
pass "SIGTERM: the bridge finishes, commits and exits 0"

# 5. batonctl lag shows each trigger's group over its source topic: every
# source event read and committed (the bridge committed on SIGTERM).
lag=$(ctl -o json -X bridge.triggers.dir="$TRIG" lag) || fail "batonctl lag: $lag"
/usr/bin/python3 - "$lag" <<'PY' || fail "trigger lag wrong: $lag"
import json, sys
rows = json.loads(sys.argv[1])["partitions"]
mine = [r for r in rows if r["group"] == "baton.bridge.order-created"]
assert mine, "no row for the order-created trigger's group"
assert all(r["topic"] == "shop.orders" for r in mine), mine
assert sum(r["end"] for r in mine) > 300, mine
bad = [r for r in mine if r["committed"] != r["end"] or r["lag"] != 0]
assert not bad, f"not fully committed: {bad}"
print(f"trigger order-created: {len(mine)} partitions, lag 0, "
      f"{sum(r['end'] for r in mine)} source events committed")
PY
pass "batonctl lag shows the trigger's group over its source topic, lag 0"

# 6. kill -9 while a burst's commands are all still in the bridge's
# producer queue (linger.ms 6 s: read, produced, none acknowledged): the
# bridge commits a source offset only once Kafka acknowledged its command,
# so the restarted bridge reads the burst again and every workflow starts.
# A bridge that committed what it had read would lose the whole burst.
M=100
for i in $(seq 1 $M); do
  printf 'l%d\t{"type":"order.created","orderId":"L%d","amount":%d}\n' "$i" "$i" "$i"
done > "$TEST_DIR/burst-linger.txt"
PM=$(free_port)
bridge_up bridge-linger --set kafka.producer.linger.ms=6000 \
  --set "bridge.metrics.listen=127.0.0.1:$PM"
BRIDGE=$LAST_PID
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PM/readyz")" = 200 ]; }
wait_until 60 "the lingering bridge owns its source partitions" ready
"$KT" produce shop.orders --lines < "$TEST_DIR/burst-linger.txt"
inflight() {
  curl -sf "http://127.0.0.1:$PM/metrics" | awk '$1 == "baton_bridge_inflight" { print int($2) }'
}
inflight_all() { [ "$(inflight)" = "$M" ]; }
wait_until 30 "all $M commands produced and held unacknowledged" inflight_all
# Five commit intervals (bridge.commit.interval.ms 200): a bridge that
# commits what it read has done so by now; a right one has nothing to.
sleep 1
orders_l() { redis --scan --pattern 'baton:*:wf:order-L*' | wc -l; }
assert_eq "$(inflight)" "$M" "commands still unacknowledged at the kill"
assert_eq "$(orders_l)" 0 "workflows of the burst before the kill"
proc_kill9 "$BRIDGE"
bridge_up bridge-after-linger
BRIDGE=$LAST_PID
orders_l_all() { [ "$(orders_l)" -ge "$M" ]; }
wait_until 90 "all $M orders of the held burst started after the restart" orders_l_all
ids=$(redis --scan --pattern 'baton:*:wf:order-L*' | sed 's/.*:wf://' | sort)
assert_eq "$(sort -u <<<"$ids" | wc -l)" "$M" "distinct workflows of the held burst"
proc_stop "$BRIDGE" || fail "the restarted bridge did not exit 0 on SIGTERM"
pass "kill -9 with all $M commands unacknowledged in the producer queue: all $M started after the restart"
