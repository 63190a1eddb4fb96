#!/usr/bin/env bash
# 0012: a short run of the fault-injection suite (tests/chaos/chaos.sh,
# tests/chaos/README.md): 45 s of seeded faults -- kill -9 of batond and of
# workers mid-activity (restarted), kill -9 and restart of redis-server, Kafka
# request errors, a broker down, partition leader moves, added latency --
# under a steady load of workflows with activities, retries, Wait timers
# and signals.  Then every workflow must complete, and baton-chaos check
# must find no violation of the invariants (exactly once, signals once,
# no result lost, timers once and not early, re-runs only in flight at a
# fault).  The seed is fixed (CHAOS_SEED overrides) so the fault schedule
# is the same on every run.
#
# Runs on the embedded broker (BROKER=embedded, whatever the environment
# says): scripts/chaos.sh injects its Kafka faults through the mock
# cluster's control commands (push-errors, broker-down, leader, rtt), which
# Apache Kafka does not have; the chaos suite's port to broker kills on the
# three-node cluster is separate work (issue 9, item 4).
export BROKER=embedded
source "$(dirname "$0")/lib.sh"
SEED=${CHAOS_SEED:-20261122}
CHAOS_DIR=$TEST_DIR CHAOS_RATE=${CHAOS_RATE:-3} \
  bash tests/chaos/chaos.sh "${CHAOS_DURATION:-45}" "$SEED" 2>&1 | tee "$TEST_DIR/chaos.out" || true
grep -q "^chaos: PASS" "$TEST_DIR/chaos.out" || fail "chaos run failed (seed $SEED)"
pass "chaos run: every workflow completed, no violation (seed $SEED)"
