#!/usr/bin/env bash
# 0075: the web console end to end in headless Chromium
# (tests/console/e2e.mjs): on a real stack (Kafka, Redis, batond, a worker)
# and baton-api serving the bundled console (build*/console) with a bearer
# token, a person's path through the page: the console asks for the token,
# opens an approval-gate run (a task, then a wait for the signal approve),
# sees it waiting with the state highlighted on its graph, clicks Approve,
# sees it SUCCEEDED; the list shows it and filters it; the DLQ page shows
# the records' payloads decoded and replays one; the queue page shows lag
# and backlog; no request leaves loopback.
# The API side is checked here too: the run's output holds the payload the
# page sent, the replayed record is dead-lettered again.  Screenshots land
# in $TEST_DIR/shots (docs/img/ with BATON_CONSOLE_SHOTS=1).
# Skips (77) without node/npm or /usr/bin/chromium; playwright-core is
# installed from npm into the build folder on first use (console-lib.sh).
source "$(dirname "$0")/console-lib.sh"
source "$(dirname "$0")/lib.sh"
console_playwright

# The approval gate: a task, then a wait for the signal approve, then a
# choice on the payload.  Copied next to the shipped definitions.
export WORKFLOWS_DIR=$TEST_DIR/workflows
mkdir -p "$WORKFLOWS_DIR"
cp config/workflows/*.json "$WORKFLOWS_DIR/"
cat >"$WORKFLOWS_DIR/console-gate.asl.json" <<'JSON'
{
  "Comment": "0075: a task, then a wait for the signal approve; approved: publish and succeed.",
  "StartAt": "Prepare",
  "States": {
    "Prepare": { "Type": "Task", "Resource": "baton:activity:default/noop",
                 "Parameters": { "step": "prepare" }, "ResultPath": "$.prepared", "Next": "WaitForApproval" },
    "WaitForApproval": { "Type": "Task", "Resource": "baton:signal:approve",
                         "TimeoutSeconds": 600, "ResultPath": "$.approval", "Next": "Decide" },
    "Decide": { "Type": "Choice",
                "Choices": [ { "Variable": "$.approval.approved", "BooleanEquals": true, "Next": "Publish" } ],
                "Default": "Rejected" },
    "Publish": { "Type": "Task", "Resource": "baton:activity:default/noop",
                 "Parameters": { "step": "publish" }, "ResultPath": "$.published", "Next": "Done" },
    "Done": { "Type": "Succeed" },
    "Rejected": { "Type": "Fail", "Error": "Rejected", "Cause": "the approver said no" }
  }
}
JSON

stack_up "$TEST_DIR" 4 default
batond_up batond
worker_up worker --concurrency 4

console_api_up

# The runs: the gate under test, one more left waiting, a few finished ones.
ctl start console-gate --id t75-gate --input '{"topic":"quarterly report"}' >/dev/null
ctl start console-gate --id t75-waiting --input '{"topic":"left open"}' >/dev/null
for i in 1 2 3; do ctl start steps3 --id "t75-steps-$i" >/dev/null; done
waits_signal() {
  ctl describe "$1" -o json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d.get("pending") or {}
sys.exit(0 if d["status"] == "RUNNING" and p.get("kind") == "signal" and p.get("name") == "approve" else 1)'
}
wait_until 60 "t75-gate to wait for the signal approve" waits_signal t75-gate
wait_until 60 "t75-waiting to wait for the signal approve" waits_signal t75-waiting
for i in 1 2 3; do ctl result "t75-steps-$i" --wait 60 >/dev/null || fail "t75-steps-$i did not finish"; done
pass "t75-gate waits for approve; other runs in the list"

# Two DLQ records: a START for a type batond does not know, and bytes that
# are not an envelope at all.
printf '{"kind":"START","workflow_id":"t75-lost","workflow_type":"t75-unknown","payload":"{}"}' |
  "$BIN/baton-kafka" produce baton.commands --key t75-lost --json
printf '\x00\xff\x01 not an envelope\n' | "$BIN/baton-kafka" produce baton.commands --partition 0
dlq_count() { ctl dlq -o json | wc -l; }
dlq_above() { [ "$(dlq_count)" -gt "$1" ]; }
wait_until 60 "the two bad inputs to be dead-lettered" dlq_above 1
dlq_before=$(dlq_count)

# The browser.
console_page e2e.mjs RUN_ID=t75-gate
pass "the console: token, waiting run on its graph, Approve, SUCCEEDED, list, DLQ, queues"

# What the page did, seen from the API and batond.
out=$(ctl result t75-gate --wait 10)
echo "$out" | grep -q '"by": *"console"' || fail "t75-gate's output lacks the console's approval: $out"
ctl history t75-gate -o json | grep -q '"SignalReceived"' || fail "no SignalReceived in t75-gate's history"
waits_signal t75-waiting || fail "t75-waiting was changed by the test"
wait_until 60 "the replayed record to be dead-lettered again" dlq_above "$dlq_before"
pass "the signal came from the page (payload by=console); the replay reached Kafka"

console_shots
