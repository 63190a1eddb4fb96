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

bench_steps3 100 t35 batond:"$BATOND"
pass "100 workflows completed across a fatal producer error"

assert_producer_replaced batond "$TEST_DIR/batond.log" "$BATOND" \
  'TEST HOOK: fatal error on the producer after 150 messages' \
  'producer replaced after a fatal error: [0-9]+ outbox entries re-sent'
assert_eq "$(pgrep -f "$BIN/batond" | grep -cx "$BATOND")" 1 "batond pid"
pass "batond replaced its producer in place (same pid $BATOND)"

# Redis: every run SUCCEEDED, with exactly one WorkflowCompleted in history.
assert_completed_once t35 100
pass "every history holds exactly one completion"

proc_stop "$WORKER" || fail "worker exited non-zero on SIGTERM"
proc_stop "$BATOND" || fail "batond exited non-zero on SIGTERM"
pass "batond and worker drain and exit 0 on SIGTERM"
