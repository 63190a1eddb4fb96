#!/usr/bin/env bash
# 0102: the shared limit on model calls in flight, and its leases.  Two
# slots of llm.ratelimit.concurrency=2 are held by a worker that died in
# its calls (leases planted in Redis as it would have left them, expiring
# in 3 s; llm.ratelimit.lease.ms=3000): four live LLM workers, with a
# handler for every task wherever the tasks land (so all waiting is the
# limiter's, not a task queued behind busy handlers), wait, heartbeating (the state's HeartbeatSeconds is 3 s, shorter
# than the waits), until the dead leases expire; then 8 one-call runs
# (each reply takes 800 ms) go through at most 2 at a time as the model
# server measures them (its arrival and end stamps), and all complete with
# each call served once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
RUNS=8
WF=$TEST_DIR/workflows
mkdir -p "$WF"
cat >"$WF/one-call.asl.json" <<'J'
{"StartAt": "Ask",
 "States": {
  "Ask": {"Type": "Task", "Resource": "baton:activity:llm/llm.chat",
    "Parameters": {"messages": [{"role": "user", "content.$": "$.q"}]},
    "HeartbeatSeconds": 3, "TimeoutSeconds": 120, "End": true}
 }}
J
cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [{"match": "conc-q", "times": -1, "text": "fine", "delay_ms": 800}]}
JSON
llm_replicas_up "$TEST_DIR/script.json" "$WF" $RUNS llm.ratelimit.concurrency=2 llm.ratelimit.lease.ms=3000 \
  llm.ratelimit.wait.max.ms=20000

# A dead worker's two slots (the key layout of common/keys.h), on Redis' clock.
now_ms=$(redis TIME | /usr/bin/python3 -c 'import sys; s, us = sys.stdin.read().split(); print(int(s) * 1000 + int(us) // 1000)')
redis ZADD 'baton:rl:{llm}:conc' $((now_ms + 3000)) dead-1 $((now_ms + 3000)) dead-2 >/dev/null
for i in $(seq 1 $RUNS); do
  ctl start one-call --id "t102-$i" --input "{\"q\": \"conc-q $i\"}" >/dev/null
done
for i in $(seq 1 $RUNS); do
  out=$(run_out "t102-$i" 120)
  assert_eq "$(jq_py "$out" 'j["content"]')" "fine" "run t102-$i"
done
calls=$(model_calls)
assert_eq "$(jq_py "$calls" '[j["served"], j["ok_completed"]]')" "[$RUNS, $RUNS]" "every call served once"
first=$(jq_py "$calls" "min(c['t_ms'] for c in j['calls']) - $now_ms")
echo "# first call reached the server $first ms after the dead worker's slots were taken (leases of 3000 ms)"
[ "$first" -ge 2900 ] || fail "a call went out while the dead worker's leases held both slots ($first ms)"
most=$(jq_py "$calls" "max(sum(1 for d in j['calls'] if d['t_ms'] <= c['t_ms'] < d['t_end_ms']) for c in j['calls'])")
echo "# most calls in flight at the server: $most (limit 2)"
[ "$most" -le 2 ] || fail "$most calls in flight at once, the limit is 2"
[ "$most" -eq 2 ] || fail "never 2 calls in flight: the test did not load the limit"
beats=$(cat "$TEST_DIR"/w-llm-*.log | grep -c 'waited .* ms for the rate limit' || true)
[ "$beats" -ge 2 ] || fail "no call waited for a slot"
longest=$(cat "$TEST_DIR"/w-llm-*.log | sed -n 's/.* waited \([0-9]*\) ms for the rate limit.*/\1/p' | sort -n | tail -1)
echo "# longest wait for a slot: $longest ms"
[ "$longest" -gt 3000 ] || fail "no wait outlasted HeartbeatSeconds: heartbeats during waits not shown"
pass "dead leases expire, then at most 2 calls in flight across 4 workers; waits heartbeat (HeartbeatSeconds 3)"
assert_no_key
