#!/usr/bin/env bash
# 0094: `batonctl doctor` passes a healthy stack (exit 0, no FAIL line) and
# names each thing wrong, with exit 1: Redis without AOF, appendfsync no,
# a maxmemory-policy that evicts, Redis state of a partition beyond the
# partition count, a missing task topic, batond's group without members,
# and baton.results no longer co-partitioned with baton.commands (grown
# with Kafka's own TopicCommand).  Runs on Apache Kafka whatever BROKER
# says: the partition change needs a real broker's admin tool.
export BROKER=apache
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
batond_up batond
BATOND=$LAST_PID
worker_up worker
WORKER=$LAST_PID
wait_until 60 "batond owns partitions" owns_partitions "$STACK_DIR/batond.log"
wait_until 60 "the worker is assigned" worker_assigned "$STACK_DIR/worker.log"

# doctor_out ARGS...: runs doctor, its output in $out, its exit code in $rc
doctor_out() {
  set +e; out=$(ctl doctor "$@" 2>&1); rc=$?; set -e
  echo "$out" | sed 's/^/  | /'
}
# expect_finding PATTERN: the last doctor run failed (exit 1) with a FAIL
# line matching PATTERN
expect_finding() {
  [ "$rc" -eq 1 ] || fail "doctor exited $rc, want 1 (expected: $1)"
  grep -qE "^FAIL .*$1" <<<"$out" || fail "doctor did not report: $1"
  pass "reported: $(grep -m1 -E "^FAIL .*$1" <<<"$out")"
}

doctor_out default
[ "$rc" -eq 0 ] || fail "doctor failed a healthy stack (exit $rc)"
! grep -q '^FAIL' <<<"$out" || fail "FAIL line on a healthy stack"
for want in 'topic baton.commands: 4 partition' 'co-partitioned \(4 partitions\)' \
    'appendonly yes' 'maxmemory-policy noeviction' 'consumer group batond: 1 member' \
    'consumer group baton.worker.default: 1 member' 'consumer group batond: lag [0-9]+'; do
  grep -qE "^ok .*$want" <<<"$out" || fail "healthy stack: no ok line '$want'"
done
js=$(ctl -o json doctor)
/usr/bin/python3 -c 'import json,sys; f=json.loads(sys.argv[1]); assert f and all(x["status"] in ("ok","warn") for x in f), f' "$js" \
  || fail "-o json of a healthy stack: $js"
pass "a healthy stack passes (text and JSON)"

redis CONFIG SET appendonly no >/dev/null
doctor_out
expect_finding 'appendonly is no'
redis CONFIG SET appendonly yes >/dev/null
redis CONFIG SET appendfsync no >/dev/null
doctor_out
expect_finding 'appendfsync is no'
redis CONFIG SET appendfsync everysec >/dev/null
redis CONFIG SET maxmemory-policy allkeys-lru >/dev/null
doctor_out
expect_finding 'maxmemory-policy is allkeys-lru, want noeviction'
redis CONFIG SET maxmemory-policy noeviction >/dev/null
# p4: the first partition beyond 0..3 (an off-by-one passes p9)
redis HSET 'baton:{p4}:offsets' baton.commands 1 >/dev/null
doctor_out
expect_finding 'Redis holds state of partition 4 but baton.commands has 4'
redis DEL 'baton:{p4}:offsets' >/dev/null
doctor_out default nosuchqueue
expect_finding 'topic baton.tasks.nosuchqueue is missing'
[ "$(grep -c '^FAIL' <<<"$out")" -eq 1 ] || fail "more than the missing topic reported"

proc_stop "$BATOND" || fail "batond exited with $?"
proc_stop "$WORKER" || fail "the worker exited with $?"
doctor_out
expect_finding 'consumer group batond \(batond\) has no members'
grep -qE '^warn .*baton.worker.default has no members' <<<"$out" || fail "no warning for the worker group"

BS=$(sed -n 's/^kafka.bootstrap.servers=//p' "$BATON_STACK_FILE")
scripts/kafka.sh tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BS" \
  --alter --topic baton.results --partitions 6 >"$TEST_DIR/topic-alter.log" 2>&1 \
  || { cat "$TEST_DIR/topic-alter.log"; fail "TopicCommand --alter failed"; }
wait_until 30 "baton.results has 6 partitions" bash -c "'$BIN/batonctl' doctor 2>&1 | grep -q 'baton.results: 6 partition'"
doctor_out
expect_finding 'baton.results has 6 partition\(s\) but baton.commands has 4: they must be co-partitioned'
