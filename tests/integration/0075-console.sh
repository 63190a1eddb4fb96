#!/usr/bin/env bash
# 0075: the web console end to end in headless Chromium
# (tests/console/e2e.mjs): on a real stack (Kafka, Redis, batond, a worker)
# and baton-api serving the bundled console (build*/console) with a bearer
# token, a person's path through the page: the console asks for the token,
# opens an approval-gate run (a task, then a wait for the signal approve),
# sees it waiting with the state highlighted on its graph, clicks Approve,
# sees it SUCCEEDED; the list shows it and filters it; the DLQ page shows
# the records' payloads decoded and replays one; the queue page shows lag and backlog; no request leaves loopback.
# The API side is checked here too: the run's output holds the payload the
# page sent, the replayed record is dead-lettered again.  Screenshots land
# in $TEST_DIR/shots (docs/img/ with BATON_CONSOLE_SHOTS=1).
# Skips (77) without node/npm or /usr/bin/chromium; playwright-core is
# installed from npm into the build folder on first use.
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "SKIP: no Chromium at $CHROMIUM"; exit 77; }
export CHROMIUM
source "$(dirname "$0")/lib.sh"
PLAYWRIGHT_VERSION=1.65.1

CONSOLE_DIR=$(cd "$BIN/.." && pwd)/console
[ -f "$CONSOLE_DIR/index.html" ] || fail "no bundled console in $CONSOLE_DIR (build the baton_console target)"
[ -x "$BIN/baton-api" ] || fail "no $BIN/baton-api (the HTTP API, api/)"

# playwright-core, once per build folder (npm's registry, at test time).
PW_DIR=$(cd "$BIN/.." && pwd)/console-test
if [ ! -f "$PW_DIR/node_modules/playwright-core/package.json" ] ||
   ! grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$PW_DIR/node_modules/playwright-core/package.json"; then
  mkdir -p "$PW_DIR"
  npm install --prefix "$PW_DIR" --no-audit --no-fund --no-save \
      "playwright-core@$PLAYWRIGHT_VERSION" >"$TEST_DIR/npm.log" 2>&1 ||
    fail "npm install playwright-core@$PLAYWRIGHT_VERSION (see $TEST_DIR/npm.log)"
fi
export PW_DIR

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

# baton-api on a free loopback port, with a token, serving the console.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN=t75-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
API_CONF=$TEST_DIR/api.conf
{
  cat "$BATON_STACK_FILE"
  echo "api.listen = 127.0.0.1:$port"
  echo "api.token = $TOKEN"
  echo "api.console.dir = $CONSOLE_DIR"
} >"$API_CONF"
_bg api "$BIN/baton-api" --config "$API_CONF"
API=http://127.0.0.1:$port
wait_until 30 "baton-api to answer /readyz" curl -fsS "$API/readyz"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/runs")
assert_eq "$code" 401 "GET /v1/runs without the token"
curl -fsS "$API/" | grep -q 'ui/app.js' || fail "baton-api does not serve the console's index.html at /"
pass "baton-api on $API serves the console and wants a token"

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
SHOT_DIR=$TEST_DIR/shots
mkdir -p "$SHOT_DIR"
CONSOLE_URL=$API RUN_ID=t75-gate API_TOKEN=$TOKEN SHOT_DIR=$SHOT_DIR \
  timeout 300 node tests/console/e2e.mjs || fail "the console's end-to-end test (above)"
pass "the console: token, waiting run on its graph, Approve, SUCCEEDED, list, DLQ, queues"

# What the page did, seen from the API and batond.
out=$(ctl result t75-gate --wait 10)
echo "$out" | grep -q '"by": *"console"' || fail "t75-gate's output lacks the console's approval: $out"
ctl history t75-gate -o json | grep -q '"SignalReceived"' || fail "no SignalReceived in t75-gate's history"
waits_signal t75-waiting || fail "t75-waiting was changed by the test"
wait_until 60 "the replayed record to be dead-lettered again" dlq_above "$dlq_before"
pass "the signal came from the page (payload by=console); the replay reached Kafka"

if [ "${BATON_CONSOLE_SHOTS:-0}" = 1 ]; then
  mkdir -p docs/img
  cp "$SHOT_DIR"/console-*.png docs/img/
  pass "screenshots copied to docs/img/"
fi
