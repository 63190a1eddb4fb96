#!/usr/bin/env bash
# 0033: the order saga example, end to end (config/workflows/order-saga,
# config/triggers/order-saga, docs/bridge.md): an order service script
# emits order.created, payment.settled and order.cancelled on its own
# topics; baton-bridge starts and signals one saga per order (a payment
# that arrives before its order is held by batond); the saga reserves
# stock, waits for payment with a time-out and compensates on cancel or
# time-out; a separate consumer reacts to each saga's end on baton.events
# (CloudEvents).  batond and the bridge are killed -9 mid-stream.  Every
# order on the source topic ends exactly once, with the outcome its events
# call for.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
batond_up batond
BATOND=$LAST_PID
worker_up worker
HERE=tests/integration/order-saga
BOOT=$(sed -n 's/^kafka.bootstrap.servers *= *//p' "$BATON_STACK_FILE")
N=${SAGA_ORDERS:-60}

ctl validate config/workflows/order-saga.asl.json config/triggers/order-saga/*.json >/dev/null ||
  fail "the example does not validate"
# the services' topics exist before the bridge subscribes
echo '{"type":"hello"}' | "$BIN/baton-kafka" produce saga.orders --key warmup
echo '{"type":"hello"}' | "$BIN/baton-kafka" produce saga.payments --key warmup
bridge_up() { _bg "$1" "$BIN/baton-bridge" --triggers config/triggers/order-saga; }
bridge_up bridge
BRIDGE=$LAST_PID

/usr/bin/python3 "$HERE/order_service.py" "$BOOT" "$N" "$TEST_DIR/expect.txt" 40 \
  >"$TEST_DIR/order-service.log" 2>&1 &
SERVICE=$!
/usr/bin/python3 "$HERE/outcome_consumer.py" "$BOOT" "$TEST_DIR/outcomes.txt" "$N" 240 \
  >"$TEST_DIR/consumer.log" 2>&1 &
CONSUMER=$!

# kill -9 batond and the bridge while the orders stream in
saga_at_least() { [ "$(redis --scan --pattern 'baton:*:wf:order-S*' | wc -l)" -ge "$1" ]; }
wait_until 60 "a quarter of the orders before the kills" saga_at_least $((N / 4 + 1))
proc_kill9 "$BATOND"
proc_kill9 "$BRIDGE"
sleep 0.5
batond_up batond-2
bridge_up bridge-2
BRIDGE=$LAST_PID
wait_until 90 "half of the orders before the second bridge kill" saga_at_least $((N / 2 + 1))
proc_kill9 "$BRIDGE"
bridge_up bridge-3
BRIDGE=$LAST_PID
wait "$SERVICE" || fail "the order service failed: $(cat "$TEST_DIR/order-service.log")"
pass "the order service emitted $N orders; batond and the bridge were killed -9 mid-stream"

wait "$CONSUMER" || fail "the consumer failed: $(cat "$TEST_DIR/consumer.log")"
src=$("$BIN/baton-kafka" consume saga.orders --timeout 5 | grep -c '"order.created"' || true)
assert_eq "$src" "$N" "order.created events on the source topic"
got=$(wc -l <"$TEST_DIR/outcomes.txt")
assert_eq "$got" "$N" "outcomes seen by the consumer (one per saga end; $(cat "$TEST_DIR/consumer.log"))"
dups=$(awk '{print $1}' "$TEST_DIR/outcomes.txt" | sort | uniq -d | head -3)
[ -z "$dups" ] || fail "orders that ended twice: $dups"
diff <(sort "$TEST_DIR/expect.txt") <(awk '{print $1, $2}' "$TEST_DIR/outcomes.txt" | sort) ||
  fail "outcomes differ from what each order's events call for"
for o in completed cancelled expired; do
  c=$(grep -c "order.$o" "$TEST_DIR/outcomes.txt" || true)
  [ "$c" -gt 0 ] || fail "no order.$o outcome"
done
pass "every one of $N orders ended exactly once with its outcome (completed / cancelled / expired)"

# One run per order, no signal lost or doubled: each history has one
# WorkflowStarted and at most one SignalReceived; held payments arrived.
for i in 6 12 $((N / 6 * 6)); do
  h=$(ctl history "order-S$i" -o json) || fail "history of order-S$i"
  assert_eq "$(grep -o '"WorkflowStarted"' <<<"$h" | wc -l)" 1 "runs of order-S$i"
  assert_eq "$(grep -o '"SignalReceived"' <<<"$h" | wc -l)" 1 "signals of order-S$i"
done
for i in $(seq 1 "$N"); do
  h=$(ctl history "order-S$i" -o json)
  [ "$(grep -o '"WorkflowStarted"' <<<"$h" | wc -l)" -eq 1 ] || fail "order-S$i started more than once"
  [ "$(grep -o '"SignalReceived"' <<<"$h" | wc -l)" -le 1 ] || fail "order-S$i got a signal twice"
done
pass "one run per order, each signal delivered once (payments sent before their order were held)"

proc_stop "$BRIDGE" || fail "the bridge did not exit 0 on SIGTERM"
