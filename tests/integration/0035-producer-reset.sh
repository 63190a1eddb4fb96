#!/usr/bin/env bash
# 0035: a fatal error on batond's idempotent producer (librdkafka 2.0.2's
# "sequence desynchronization" after a leader change; here raised by the
# TEST HOOK BATON_TEST_PRODUCER_FATAL_AFTER through rd_kafka_test_fatal_error)
# does not stop batond: it replaces the producer in place, re-sends the
# outbox of its partitions from Redis, and every workflow completes, each
# exactly once in its history.  batond is the same process throughout and
# still exits 0 on SIGTERM.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 8 default
BATON_TEST_PRODUCER_FATAL_AFTER=150 batond_up batond
BATOND=$LAST_PID
worker_up worker --concurrency 16
WORKER=$LAST_PID

# The load, watched: a batond that dies under it fails the test at once,
# not after the bench's 180 s.
"$BIN/baton-bench" --workflows 100 --type steps3 --steps 3 \
  --concurrency 20 --id-prefix t35 --timeout 180 --json >"$TEST_DIR/bench.out" &
BENCH=$!
while kill -0 "$BENCH" 2>/dev/null; do
  if ! kill -0 "$BATOND" 2>/dev/null; then
    kill "$BENCH" 2>/dev/null
    fail "batond (pid $BATOND) exited under the load"
  fi
  sleep 0.2
done
wait "$BENCH" || fail "bench: $(cat "$TEST_DIR/bench.out")"
out=$(cat "$TEST_DIR/bench.out")
echo "$out"
assert_eq "$(json_get "$out" completed)" 100 "completed workflows"
pass "100 workflows completed across a fatal producer error"

grep -q 'TEST HOOK: fatal error on the producer after 150 messages' \
  "$TEST_DIR/batond.log" || fail "the test hook did not fire"
grep -q 'fatal Kafka error.*replacing the producer' "$TEST_DIR/batond.log" \
  || fail "batond did not see the fatal producer error"
grep -qE 'producer replaced after a fatal error: [0-9]+ outbox entries re-sent' \
  "$TEST_DIR/batond.log" || fail "batond did not log the producer reset"
grep -E 'producer replaced' "$TEST_DIR/batond.log"
kill -0 "$BATOND" 2>/dev/null || fail "batond (pid $BATOND) exited"
assert_eq "$(pgrep -f "$BIN/batond" | grep -cx "$BATOND")" 1 "batond pid"
pass "batond replaced its producer in place (same pid $BATOND)"

# Redis: every run SUCCEEDED, with exactly one WorkflowCompleted in history.
n=0
for key in $(redis --scan --pattern 'baton:{p*}:hist:t35-*'); do
  c=$(redis LRANGE "$key" 0 -1 | grep -c '"WorkflowCompleted"' || true)
  [ "$c" == 1 ] || fail "$key has $c completion events"
  n=$((n+1))
done
assert_eq "$n" 100 "histories in Redis"
pass "every history holds exactly one completion"

proc_stop "$WORKER" || fail "worker exited non-zero on SIGTERM"
proc_stop "$BATOND" || fail "batond exited non-zero on SIGTERM"
pass "batond and worker drain and exit 0 on SIGTERM"
