#!/usr/bin/env bash
# 0085: distributed tracing (docs/tracing.md).  batond and the worker export
# spans as OTLP/HTTP JSON to a small receiver on loopback; one run with a
# Task, a Map of 2 items, a Wait and a signal wait, started by a command
# that carries a traceparent, yields one trace: every span shares the trace
# id, the root run's parent is the start command's span, activity spans sit
# under their run's span, worker executions under the activity spans, the
# Map's child runs under the parent's Map step, and every span has an end.
# batond is killed (-9) while the run waits for its signal: the next batond
# ends the spans begun before the crash (the signal wait, the run) with the
# ids their children already name.  Then, with the receiver down, batond
# keeps running and a run completes.
source "$(dirname "$0")/lib.sh"
mkdir -p "$TEST_DIR/wf"
cat >"$TEST_DIR/wf/traced.asl.json" <<'JSON'
{
  "StartAt": "Prepare",
  "States": {
    "Prepare": { "Type": "Task", "Resource": "baton:activity:default/noop",
                 "Parameters": { "items": [ "a", "b" ] }, "ResultPath": "$.prep", "Next": "Each" },
    "Each": { "Type": "Map", "ItemsPath": "$.prep.items", "ResultPath": "$.each",
              "ItemProcessor": { "StartAt": "Work", "States": {
                "Work": { "Type": "Task", "Resource": "baton:activity:default/echo", "End": true } } },
              "Next": "Pause" },
    "Pause": { "Type": "Wait", "Seconds": 1, "Next": "Gate" },
    "Gate": { "Type": "Task", "Resource": "baton:signal:go", "ResultPath": "$.go", "Next": "Done" },
    "Done": { "Type": "Succeed" }
  }
}
JSON
export WORKFLOWS_DIR=$TEST_DIR/wf
SPANS=$TEST_DIR/spans.jsonl
_bg otlp /usr/bin/python3 tests/integration/otlp-receiver.py "$SPANS" "$TEST_DIR/otlp.port"
RECEIVER=$LAST_PID
wait_until 20 "the OTLP receiver listens" test -s "$TEST_DIR/otlp.port"
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$(cat "$TEST_DIR/otlp.port")"
stack_up "$TEST_DIR" 4 default
batond_up batond
BATOND=$LAST_PID
worker_up worker --concurrency 4
WORKER=$LAST_PID

TRACE=4bf92f3577b34da6a3ce929d0e0e4736
PARENT=00f067aa0ba902b7
start() { # id traceparent-header-args...
  local id=$1; shift
  printf '{"kind":"START","workflow_id":"%s","workflow_type":"traced","payload":"{}"}' "$id" \
    | "$BIN/baton-kafka" produce baton.commands --json --key "$id" \
        --partition "$("$BIN/baton-kafka" partition baton.commands "$id")" "$@"
}
waiting_for() { # id kind: the run's snapshot says it waits for that
  [ "$(snap_field "$1" pk)" == "$2" ]
}

spans_at_least() { # N: the receiver has N spans of the test's trace
  [ -f "$SPANS" ] &&
    [ "$(grep -o "\"traceId\": \"$TRACE\"" "$SPANS" | wc -l)" -ge "$1" ]
}
start t85-1 --header "traceparent=00-$TRACE-$PARENT-01" --header "tracestate=vendor=x"
wait_until 60 "t85-1 waits for signal go" waiting_for t85-1 signal
# The 10 spans ended before the gate (7 of batond, 3 executions) are out:
# then batond dies with the signal wait and the run still open.
wait_until 30 "the spans before the gate are exported" spans_at_least 10
proc_kill9 "$BATOND"
batond_up batond2
BATOND=$LAST_PID
wait_until 90 "batond2 owns partitions" owns_partitions "$TEST_DIR/batond2.log"
ctl signal t85-1 go --payload '{"ok":true}' >/dev/null
res=$(ctl result t85-1 --wait 60) || fail "t85-1 did not complete: $res"
echo "$res" | grep -q '"ok"' || fail "t85-1's result lacks the signal: $res"
pass "the traced run completed"

# 13 spans: run, Prepare (activity + execution), the Map step, two child
# runs (run + activity + execution each), the Wait, the signal wait and
# the signal received.
check() {
  /usr/bin/python3 - "$SPANS" "$TRACE" "$PARENT" "$@" <<'PY'
import json, sys
path, trace, parent = sys.argv[1:4]
final = len(sys.argv) > 4
spans = {}
try:
    lines = open(path).read().splitlines()
except OSError:
    lines = []
for line in lines:
    for rs in json.loads(line)["resourceSpans"]:
        svc = [a["value"]["stringValue"] for a in rs["resource"]["attributes"]
               if a["key"] == "service.name"][0]
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                s["svc"] = svc
                s["attrs"] = {a["key"]: list(a["value"].values())[0] for a in s.get("attributes", [])}
                spans[s["spanId"]] = s
mine = [s for s in spans.values() if s["traceId"] == trace]
def fail(msg):
    if final:
        print("FAIL:", msg, file=sys.stderr)
        for s in mine: print(" ", s["name"], s["spanId"], s.get("parentSpanId"), s["svc"], file=sys.stderr)
    sys.exit(1)
if len(mine) < 13: fail("%d spans of the trace, expected 13" % len(mine))
wf = {s["attrs"].get("baton.workflow.id") for s in mine}
others = [s for s in spans.values() if s["traceId"] != trace and
          str(s["attrs"].get("baton.workflow.id", "")).startswith("t85-1")]
if others: fail("spans of t85-1 in another trace: %s" % [s["name"] for s in others])
by = lambda pred: [s for s in mine if pred(s)]
for s in mine:
    if not s.get("endTimeUnixNano") or int(s["endTimeUnixNano"]) < int(s["startTimeUnixNano"]):
        fail("span %s has no proper end" % s["name"])
    p = s.get("parentSpanId")
    if p and p != parent and p not in spans: fail("span %s: parent %s missing" % (s["name"], p))
runs = by(lambda s: s["name"] == "run traced")
root = [s for s in runs if s["attrs"]["baton.workflow.id"] == "t85-1"]
if len(root) != 1: fail("root run spans: %d" % len(root))
root = root[0]
if root.get("parentSpanId") != parent: fail("root's parent is %s, not the start's %s" % (root.get("parentSpanId"), parent))
if root["attrs"].get("baton.workflow.status") != "SUCCEEDED": fail("root status %s" % root["attrs"])
maps = by(lambda s: s["name"] == "map Each")
if len(maps) != 1 or maps[0]["parentSpanId"] != root["spanId"]: fail("map step span not under the root run")
children = [s for s in runs if s is not root]
if len(children) != 2 or any(c["parentSpanId"] != maps[0]["spanId"] for c in children):
    fail("child runs not under the Map step")
run_ids = {root["spanId"]} | {c["spanId"] for c in children}
acts = by(lambda s: s["name"].startswith("activity "))
if len(acts) != 3 or any(a["parentSpanId"] not in run_ids for a in acts): fail("activity spans not under run spans")
if sorted(a["parentSpanId"] for a in acts) != sorted(run_ids): fail("not one activity per run")
execs = by(lambda s: s["name"].startswith("execute "))
act_ids = {a["spanId"] for a in acts}
if len(execs) != 3 or {e["parentSpanId"] for e in execs} != act_ids: fail("worker executions not under the activity spans")
if any(not e["svc"].startswith("baton-worker") for e in execs): fail("executions not from the worker")
for name in ("wait", "await signal go", "signal go"):
    got = by(lambda s: s["name"] == name)
    if len(got) != 1 or got[0]["parentSpanId"] != root["spanId"]: fail("span %r not once under the root run" % name)
print("trace %s: %d spans, parents right" % (trace, len(mine)))
PY
}
# Up to 30 s for the 13 spans; then the final check says what is wrong.
for _ in $(seq 1 600); do check >/dev/null 2>&1 && break; sleep 0.05; done
check final || fail "the trace of t85-1 is wrong"
pass "one trace across a kill -9 of batond, the right parents, every span ended"

# The task message carried the activity span as its traceparent.
"$BIN/baton-kafka" consume baton.tasks.default --count 1 --timeout 10 | head -1 \
  | grep -q "traceparent=00-$TRACE-" || fail "the first task carries no traceparent of the trace"
pass "tasks carry the trace in a traceparent header"

# A start without traceparent begins a new trace of its own.
start t85-2
wait_until 60 "t85-2 waits for signal go" waiting_for t85-2 signal
ctl signal t85-2 go >/dev/null
ctl result t85-2 --wait 60 >/dev/null || fail "t85-2 did not complete"
tid=$(snap_field t85-2 tid)
[[ "$tid" =~ ^[0-9a-f]{32}$ ]] && [ "$tid" != "$TRACE" ] || fail "t85-2's trace id: '$tid'"
pass "a start without traceparent gets a new trace id ($tid)"

# The collector goes away: runs go on, batond stays up.
proc_stop "$RECEIVER" || fail "the receiver exited non-zero"
start t85-3 --header "traceparent=00-$TRACE-$PARENT-01"
wait_until 60 "t85-3 waits for signal go" waiting_for t85-3 signal
ctl signal t85-3 go >/dev/null
ctl result t85-3 --wait 60 >/dev/null || fail "t85-3 did not complete with the collector down"
kill -0 "$BATOND" || fail "batond died with the collector down"
wait_until 20 "batond reports the failed export" grep -q "OTLP export to .* failed" "$TEST_DIR/batond2.log"
pass "with the collector down the run completes and batond keeps running"

proc_stop "$WORKER" || fail "worker exited non-zero on SIGTERM"
proc_stop "$BATOND" || fail "batond exited non-zero on SIGTERM"
pass "batond and the worker stop cleanly"
