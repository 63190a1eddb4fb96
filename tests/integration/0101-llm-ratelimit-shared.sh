#!/usr/bin/env bash
# 0101: a rate limit shared by every replica of baton-worker-llm, held in
# Redis.  Four LLM worker processes (2 calls at once each) share a limit
# of N=5 requests per 10-second window (llm.ratelimit.rpm=5,
# llm.ratelimit.window.ms=10000) while 16 runs each make one model call:
# the scripted model server sees at most 5 calls in any window (by its own
# arrival times), every run completes, and each call was served once
# (calls that could not get capacity within llm.ratelimit.wait.max.ms
# failed with the retryable LLM.RateLimited and were retried by batond
# after the hint, never sent).  Prints the measured figure.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
N=5
WINDOW_MS=10000
RUNS=16
WF=$TEST_DIR/workflows
mkdir -p "$WF"
cat >"$WF/one-call.asl.json" <<'J'
{"StartAt": "Ask",
 "States": {
  "Ask": {"Type": "Task", "Resource": "baton:activity:llm/llm.chat",
    "Parameters": {"messages": [{"role": "user", "content.$": "$.q"}]},
    "HeartbeatSeconds": 30, "TimeoutSeconds": 120,
    "Retry": [{"ErrorEquals": ["LLM.RateLimited"], "IntervalSeconds": 1, "MaxAttempts": 20, "BackoffRate": 1.0}],
    "End": true}
 }}
J
cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [{"match": "rl-q", "times": -1, "text": "fine", "usage": {"input": 10, "output": 2}}]}
JSON
llm_replicas_up "$TEST_DIR/script.json" "$WF" 2 llm.ratelimit.rpm=$N llm.ratelimit.window.ms=$WINDOW_MS \
  llm.ratelimit.wait.max.ms=12000 llm.ratelimit.margin.ms=1000

t0=$(date +%s%N)
for i in $(seq 1 $RUNS); do
  ctl start one-call --id "t101-$i" --input "{\"q\": \"rl-q $i\"}" >/dev/null
done
for i in $(seq 1 $RUNS); do
  out=$(run_out "t101-$i" 120)
  assert_eq "$(jq_py "$out" 'j["content"]')" "fine" "run t101-$i"
done
secs=$(( ($(date +%s%N) - t0) / 1000000000 ))
pass "$RUNS runs, one model call each, all completed in ${secs} s"

calls=$(model_calls)
assert_eq "$(jq_py "$calls" '[j["served"], j["ok_completed"]]')" "[$RUNS, $RUNS]" "every call served once"
# The most calls the server saw in any window of WINDOW_MS (starting at a
# call), by its own arrival stamps, and in a window 100 ms shorter.
most=$(jq_py "$calls" "(lambda t: [max(sum(1 for u in t if s <= u < s + w) for s in t) for w in ($WINDOW_MS, $WINDOW_MS - 100)])(sorted(c['t_ms'] for c in j['calls']))")
echo "# most calls in any ${WINDOW_MS} ms window, in any $((WINDOW_MS - 100)) ms window: $most (limit $N)"
echo "# arrivals (ms after the first): $(jq_py "$calls" "(lambda t: [u - t[0] for u in t])(sorted(c['t_ms'] for c in j['calls']))")"
[ "$(jq_py "$most" 'j[0]')" -le "$N" ] || fail "the server saw more than $N calls in a ${WINDOW_MS} ms window: $most"
workers=$(grep -l 'done: openai' "$TEST_DIR"/w-llm-*.log | wc -l)
[ "$workers" -ge 2 ] || fail "only $workers worker(s) made calls: the limit was not shared"
waited=$(cat "$TEST_DIR"/w-llm-*.log | grep -c 'waited .* ms for the rate limit' || true)
limited=$(cat "$TEST_DIR"/w-llm-*.log | grep -c 'failed: LLM.RateLimited' || true)
echo "# $workers workers made calls; $waited calls waited for capacity, $limited gave up their wait (retried by batond)"
[ "$waited" -gt 0 ] || fail "no call waited: the test did not exercise the limit"
# 16 calls at 5 per window need 3 windows past the first call (30 s here)
[ "$secs" -ge $(( ((RUNS + N - 1) / N - 1) * WINDOW_MS / 1000 - 1 )) ] ||
  fail "$RUNS calls took only ${secs} s: faster than $N per window allows"
pass "$N requests per $((WINDOW_MS / 1000)) s shared by 4 workers: the server saw at most $N per window"
assert_no_key
