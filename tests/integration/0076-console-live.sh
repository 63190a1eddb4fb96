#!/usr/bin/env bash
# 0076: the console shows an LLM step's output live (tests/console/live.mjs
# in headless Chromium): the real baton-worker-llm streams a slow scripted
# reply (tests/tools/model_server.py, 16 chunks 400 ms apart), baton-api's
# GET /v1/runs/{id}/live is polled by the run's page, the text appears and
# grows while the run is RUNNING, and once it completes the page shows the
# whole reply in the run's state.  Skips (77) without node/npm/Chromium, and
# while baton-api has no /v1/runs/{id}/live route (it answers "no route").
source "$(dirname "$0")/console-lib.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
console_playwright

cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [
 {"match": "case-console", "chunks": ["Durable ", "agents ", "keep ", "their ", "place ", "when ", "a ", "process ", "dies: ", "the ", "step ", "resumes ", "where ", "it ", "was", "."],
  "chunk_delay_ms": 400}
]}
JSON
EXPECTED="Durable agents keep their place when a process dies: the step resumes where it was."
model_server_up "$TEST_DIR/script.json"
agents_up
llm_worker_up w-llm --concurrency 2
wait_until 30 "the LLM worker to join its group" worker_assigned "$TEST_DIR/w-llm.log"
console_api_up

ctl start llm-call --id t76-live \
  --input '{"messages":[{"role":"user","content":"case-console"}]}' >/dev/null
body=$(curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/runs/t76-live/live")
if echo "$body" | grep -q '"no route'; then
  echo "SKIP: this baton-api has no GET /v1/runs/{id}/live route yet: $body"
  exit 77
fi

console_page live.mjs RUN_ID=t76-live EXPECTED_TEXT="$EXPECTED"
pass "live output on the run's page while the step streams, then the whole reply"

out=$(run_out t76-live)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "$EXPECTED" "the run's durable result"
assert_no_key
console_shots
