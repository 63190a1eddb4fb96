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
# says): the suite on Apache Kafka (`make chaos BROKER=apache`: three nodes,
# broker kill -9 and SIGSTOP) cannot be short -- a 45 s run took 3 min 58 s
# on the shared 2-core machine (load average ~30), because every kind must
# occur once and a broker kill alone lasts ~60 s there (7 s until the
# controller fences the node, 5-15 s down, ~40 s for its JVM to restart),
# plus the three nodes' start.  That is over the 2-3 minutes a CI test may
# take, so the Apache run is `make chaos BROKER=apache` (tests/chaos/README.md
# has a 10-minute run's table).  The checker is the same: a re-run is
# excused only by a fault that could cause it while its attempt was open,
# every kind must occur, an injection error fails the run.
export BROKER=embedded
source "$(dirname "$0")/lib.sh"
SEED=${CHAOS_SEED:-20261122}
CHAOS_DIR=$TEST_DIR CHAOS_RATE=${CHAOS_RATE:-3} \
  bash tests/chaos/chaos.sh "${CHAOS_DURATION:-45}" "$SEED" 2>&1 | tee "$TEST_DIR/chaos.out" || true
grep -q "^chaos: PASS" "$TEST_DIR/chaos.out" || fail "chaos run failed (seed $SEED)"
pass "chaos run: every workflow completed, no violation (seed $SEED)"
