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

bench_steps3 100 t36 worker:"$WORKER"
pass "100 workflows completed across a fatal error of the worker's producer"

assert_producer_replaced 'the worker' "$TEST_DIR/worker.log" "$WORKER" \
  'TEST HOOK: fatal error on the producer after 120 results' \
  'producer replaced after a fatal error \(1 so far\)'
pass "the worker replaced its producer in place (same pid $WORKER)"

assert_completed_once t36 100
pass "every history holds exactly one completion"

proc_stop "$WORKER" || fail "worker exited non-zero on SIGTERM"
proc_stop "$BATOND" || fail "batond exited non-zero on SIGTERM"
pass "batond and worker drain and exit 0 on SIGTERM"
