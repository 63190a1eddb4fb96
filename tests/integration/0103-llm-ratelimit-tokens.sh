#!/usr/bin/env bash
# 0103: the shared tokens-per-window limit.  Four LLM workers share
# llm.ratelimit.tpm=300 over a 5 s window.  Each call asks for at most 50
# output tokens and is admitted with an estimate (request bytes / 4 +
# max_tokens, reserved when it starts, replaced by its real usage when it
# ends); the scripted model bills 100 tokens a call (60 in, 40 out).  So at
# most 3 calls fit a window: over 9 runs the model server sees at most 300
# tokens (3 calls) in any 5 s window by its own arrival stamps, and all
# runs complete with each call served once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
RUNS=9
WINDOW_MS=5000
TPM=300
WF=$TEST_DIR/workflows
mkdir -p "$WF"
cat >"$WF/one-call.asl.json" <<'J'
{"StartAt": "Ask",
 "States": {
  "Ask": {"Type": "Task", "Resource": "baton:activity:llm/llm.chat",
    "Parameters": {"messages": [{"role": "user", "content.$": "$.q"}], "max_tokens": 50},
    "HeartbeatSeconds": 5, "TimeoutSeconds": 120,
    "Retry": [{"ErrorEquals": ["LLM.RateLimited"], "IntervalSeconds": 1, "MaxAttempts": 20, "BackoffRate": 1.0}],
    "End": true}
 }}
J
cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [{"match": "tpm-q", "times": -1, "text": "fine", "usage": {"input": 60, "output": 40}}]}
JSON
llm_replicas_up "$TEST_DIR/script.json" "$WF" $RUNS llm.ratelimit.tpm=$TPM llm.ratelimit.window.ms=$WINDOW_MS \
  llm.ratelimit.wait.max.ms=8000 llm.ratelimit.margin.ms=1000

for i in $(seq 1 $RUNS); do
  ctl start one-call --id "t103-$i" --input "{\"q\": \"tpm-q $i\"}" >/dev/null
done
for i in $(seq 1 $RUNS); do
  out=$(run_out "t103-$i" 120)
  assert_eq "$(jq_py "$out" '[j["content"], j["usage"]["input_tokens"] + j["usage"]["output_tokens"]]')" \
    '["fine", 100]' "run t103-$i"
done
calls=$(model_calls)
assert_eq "$(jq_py "$calls" '[j["served"], j["ok_completed"]]')" "[$RUNS, $RUNS]" "every call served once"
# The limiter counts windows from admission (Redis' clock); the server sees
# each call a few ms later, with jitter (a CI run: admissions at the window
# edge arrived 0-10 ms apart, so a full 5000 ms window from the third call
# held a fourth).  Judge the server's stamps over the window less 200 ms.
JUDGE_MS=$((WINDOW_MS - 200))
most=$(jq_py "$calls" "(lambda t: max(sum(1 for u in t if s <= u < s + $JUDGE_MS) for s in t))(sorted(c['t_ms'] for c in j['calls']))")
echo "# arrivals (ms after the first): $(jq_py "$calls" "(lambda t: [u - t[0] for u in t])(sorted(c['t_ms'] for c in j['calls']))")"
echo "# most tokens in any ${JUDGE_MS} ms window at the server: $((most * 100)) (limit $TPM)"
[ "$((most * 100))" -le "$TPM" ] || fail "$most calls ($((most * 100)) tokens) in one window"
[ "$most" -eq 3 ] || fail "never 3 calls in a window: the limit was not reached ($most)"
pass "$TPM tokens per $((WINDOW_MS / 1000)) s shared by 4 workers: at most $TPM at the server in any window"
assert_no_key
