#!/usr/bin/env bash
# 0036: a fatal error on a worker's idempotent producer (librdkafka 2.0.2's
# "sequence desynchronization" after a leader change; here raised by the
# TEST HOOK BATON_TEST_WORKER_PRODUCER_FATAL_AFTER through
# rd_kafka_test_fatal_error) does not stop the worker: the SDK replaces the
# producer in place and produces again every answer the old one had not
# delivered.  Every workflow completes, each exactly once in its history;
# the worker is the same process throughout and exits 0 on SIGTERM.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 8 default
batond_up batond
BATOND=$LAST_PID
BATON_TEST_WORKER_PRODUCER_FATAL_AFTER=120 worker_up worker --concurrency 16
WORKER=$LAST_PID

out=$("$BIN/baton-bench" --workflows 100 --type steps3 --steps 3 \
      --concurrency 20 --id-prefix t36 --timeout 180 --json) || fail "bench: $out"
echo "$out"
assert_eq "$(json_get "$out" completed)" 100 "completed workflows"
pass "100 workflows completed across a fatal error of the worker's producer"

grep -q 'TEST HOOK: fatal error on the producer after 120 results' \
  "$TEST_DIR/worker.log" || fail "the test hook did not fire"
grep -q 'fatal Kafka error.*replacing the producer' "$TEST_DIR/worker.log" \
  || fail "the worker did not see the fatal producer error"
grep -qE 'producer replaced after a fatal error \(1 so far\)' \
  "$TEST_DIR/worker.log" || fail "the worker did not log the producer reset"
grep -E 'producer replaced' "$TEST_DIR/worker.log"
kill -0 "$WORKER" 2>/dev/null || fail "worker (pid $WORKER) exited"
pass "the worker replaced its producer in place (same pid $WORKER)"

n=0
for key in $(redis --scan --pattern 'baton:{p*}:hist:t36-*'); do
  c=$(redis LRANGE "$key" 0 -1 | grep -c '"WorkflowCompleted"' || true)
  [ "$c" == 1 ] || fail "$key has $c completion events"
  n=$((n+1))
done
assert_eq "$n" 100 "histories in Redis"
pass "every history holds exactly one completion"

proc_stop "$WORKER" || fail "worker exited non-zero on SIGTERM"
proc_stop "$BATOND" || fail "batond exited non-zero on SIGTERM"
pass "batond and worker drain and exit 0 on SIGTERM"
