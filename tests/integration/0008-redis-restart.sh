#!/usr/bin/env bash
# 0008: redis-server (AOF everysec) is killed with SIGKILL and restarted on
# the same port while workflows run: batond re-reads every partition's state
# from Redis and seeks back, and every workflow completes exactly once.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
batond_up batond
worker_up worker --concurrency 16
"$BIN/baton-bench" --workflows 1000 --type steps3 --steps 3 --concurrency 10 \
    --id-prefix t8 --timeout 600 --stall 60 --json > "$TEST_DIR/bench.json" &
BENCH=$!
# 1000 runs (about 80 s on Apache Kafka with the ASan build, 2 cores; 3000
# took 237 s, at the bench's former 240 s bound).  Restart Redis under load: once 300 workflows are done (history keys
# with a completion) and the bench is still running.  --stall 60: a batond
# that never recovers from the restart fails the bench in a minute, not at
# its 600 s deadline.
done_count() { redis --scan --pattern 'baton:{p*}:hist:t8-*' | wc -l; }
loaded() { [ "$(done_count)" -ge 300 ]; }
wait_until 120 "300 workflows under way before the Redis restart" loaded
kill -0 $BENCH 2>/dev/null || fail "the bench ended before the Redis restart: not under load"
before=$(done_count)
stack_control redis-restart || fail "dev stack did not restart redis"
kill -0 $BENCH 2>/dev/null || fail "the bench ended during the Redis restart: not under load"
echo "redis-server killed and restarted with $before of 1000 runs started"
wait $BENCH || fail "bench: $(cat "$TEST_DIR/bench.json")"
out=$(cat "$TEST_DIR/bench.json")
echo "$out"
assert_eq "$(json_get "$out" completed)" 1000 "completed workflows"
assert_eq "$(json_get "$out" double_completions)" 0 "double completions"
COUNT_LUA='local out = {}
for _, k in ipairs(KEYS) do
  local c = 0
  for _, e in ipairs(redis.call("LRANGE", k, 0, -1)) do
    if string.find(e, "\"WorkflowCompleted\"", 1, true) then c = c + 1 end
  end
  out[#out + 1] = k .. " " .. c
end
return out'
mapfile -t keys < <(redis --scan --pattern 'baton:{p*}:hist:t8-*')
assert_eq "${#keys[@]}" 1000 "histories"
redis EVAL "$COUNT_LUA" "${#keys[@]}" "${keys[@]}" > "$TEST_DIR/hist-counts"
assert_eq "$(count_lines "$TEST_DIR/hist-counts")" 1000 "histories counted"
bad=$(awk '$2 != 1' "$TEST_DIR/hist-counts" | head -5)
[ -z "$bad" ] || fail "histories without exactly one completion: $bad"
grep -q "re-reading partition state" "$TEST_DIR/batond.log" \
  || fail "batond never noticed the Redis restart"
pass "a kill -9 and restart of redis-server loses no workflow and applies nothing twice"
