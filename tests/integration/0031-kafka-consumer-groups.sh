#!/usr/bin/env bash
# 0031: Kafka's own tools as the yardstick of `batonctl lag`.  Apache
# Kafka's kafka-consumer-groups --describe (ConsumerGroupCommand, kafka-tools
# 3.9, run by scripts/kafka.sh) and `batonctl lag -o json` must report the
# same committed offset, log-end offset and lag for every partition of
# batond's group (commands and results topics) and of the default queue's
# worker group (baton.worker.default), and neither may read "unknown"
# (never committed: KEDA would scale such a group to its maximum):
#
#   1. idle, right after start: every partition committed, even those that
#      never carried a message;
#   2. while the worker runs a long activity: its partition's committed
#      offset is that task's (lag 1), the others' lag 0;
#   3. after 40 workflows: lag 0 everywhere.
#
# The two tools read at slightly different moments, so a comparison is
# retried (up to 5 times) until they agree on a quiet system.  Runs on
# Apache Kafka whatever BROKER says: the yardstick is Kafka's own tool.
export BROKER=apache
source "$(dirname "$0")/lib.sh"

WF=$TEST_DIR/workflows
mkdir -p "$WF"
cp config/workflows/steps3.asl.json "$WF/"
cat >"$WF/long-activity.asl.json" <<'JSON'
{
  "Comment": "One activity of 12 s: long enough to read both tools while it runs.",
  "StartAt": "Long",
  "States": {
    "Long": { "Type": "Task", "Resource": "baton:activity:default/sleep",
              "Parameters": { "ms": 12000 }, "End": true }
  }
}
JSON
stack_up "$TEST_DIR" 4 default
WORKFLOWS_DIR=$WF batond_up batond
worker_up worker --concurrency 4
BS=$(sed -n 's/^kafka.bootstrap.servers=//p' "$BATON_STACK_FILE")
GROUPS_=(batond baton.worker.default)

# compare STAGE [PYTHON-CHECK]: both tools agree (retried), no partition
# uncommitted; PYTHON-CHECK is an expression over rows {(group, topic,
# partition): (committed, end, lag)} that must hold too.
compare() {
  local stage=$1 extra=${2:-True} i kt bl
  for i in $(seq 1 5); do
    kt=$(scripts/kafka.sh consumer-groups --bootstrap-server "$BS" --describe \
           --group "${GROUPS_[0]}" --group "${GROUPS_[1]}" 2>"$TEST_DIR/kt.err") || {
      cat "$TEST_DIR/kt.err" >&2; fail "$stage: kafka-consumer-groups failed"; }
    bl=$(ctl lag -o json) || fail "$stage: batonctl lag failed"
    if /usr/bin/python3 - "$kt" "$bl" "$extra" "$stage" <<'PY'
import json, sys
kt_text, bl_text, extra, stage = sys.argv[1:5]
groups = ("batond", "baton.worker.default")
kafka = {}
for line in kt_text.splitlines():
    f = line.split()
    if len(f) >= 6 and f[0] in groups and f[2].isdigit():
        c = None if f[3] == "-" else int(f[3])
        lag = None if f[5] == "-" else int(f[5])
        kafka[(f[0], f[1], int(f[2]))] = (c, int(f[4]), lag)
baton = {}
for r in json.loads(bl_text)["partitions"]:
    if r["group"] in groups:
        baton[(r["group"], r["topic"], r["partition"])] = (r["committed"], r["end"], r["lag"])
ok = True
if not kafka:
    print(f"{stage}: kafka-consumer-groups listed no partition:\n{kt_text}"); ok = False
if set(kafka) != set(baton):
    print(f"{stage}: partitions differ: kafka-only {sorted(set(kafka) - set(baton))}, "
          f"batonctl-only {sorted(set(baton) - set(kafka))}"); ok = False
for k in sorted(set(kafka) & set(baton)):
    if kafka[k] != baton[k]:
        print(f"{stage}: {k}: kafka-consumer-groups {kafka[k]} != batonctl lag {baton[k]}"); ok = False
for k, v in sorted(kafka.items()):
    if v[0] is None or v[2] is None:
        print(f"{stage}: {k}: never committed (lag unknown)"); ok = False
rows = kafka
if ok and not eval(extra):
    print(f"{stage}: check failed: {extra}\n{sorted(rows.items())}"); ok = False
if ok:
    print(f"{stage}: {len(kafka)} partitions agree, total lag "
          f"{sum(v[2] for v in kafka.values())}")
sys.exit(0 if ok else 1)
PY
    then return 0; fi
    sleep 1
  done
  echo "$kt" >&2
  echo "$bl" >&2
  fail "$stage: kafka-consumer-groups and batonctl lag disagree or a partition is uncommitted"
}

# 1. Idle: every partition of both groups committed (8 of batond, 4 of the
# worker), none with a message yet.
compare idle 'len(rows) == 12 and all(v == (0, 0, 0) for v in rows.values())'
pass "idle: both groups committed on every partition; the tools agree"

# 2. A long activity runs: its task's offset is committed (lag 1 there).
ctl start long-activity --id t30-long --input '{}' >/dev/null
for i in $(seq 1 100); do
  end=$(ctl lag -o json | /usr/bin/python3 -c 'import json,sys; print(sum(r["end"] for r in json.load(sys.stdin)["partitions"] if r["group"] == "baton.worker.default"))')
  [ "$end" = 1 ] && break
  sleep 0.1
done
assert_eq "$end" 1 "tasks produced"
sleep 1 # the worker has the task (it runs 12 s)
compare long-activity 'sorted(v[2] for k, v in rows.items() if k[0] == "baton.worker.default") == [0, 0, 0, 1] and all(v[0] == 0 for k, v in rows.items() if k[0] == "baton.worker.default")'
st=$(ctl describe t30-long -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
assert_eq "$st" RUNNING "long-activity status while the tools were read"
pass "long activity running: its task is committed at its own offset (lag 1), the tools agree"

# 3. Traffic, then quiet: lag 0 everywhere, the same on both tools.
out=$("$BIN/baton-bench" --workflows 40 --type steps3 --steps 3 \
      --concurrency 10 --id-prefix t30 --timeout 120 --json) || fail "bench: $out"
assert_eq "$(json_get "$out" completed)" 40 "completed workflows"
ctl result t30-long --wait 30 >/dev/null || fail "long-activity did not complete"
compare after-load 'all(v[2] == 0 for v in rows.values()) and sum(v[1] for k, v in rows.items() if k[0] == "baton.worker.default") == 121'
pass "after 40 workflows: lag 0 on both groups, the tools agree"
