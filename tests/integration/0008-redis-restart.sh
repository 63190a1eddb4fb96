#!/usr/bin/env bash
# 0008: redis-server (AOF everysec) is killed with SIGKILL and restarted on
# the same port while workflows run: batond re-reads every partition's state
# from Redis and seeks back, and every workflow completes exactly once.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
batond_up batond
worker_up worker --concurrency 16
"$BIN/baton-bench" --workflows 3000 --type steps3 --steps 3 --concurrency 10 \
    --id-prefix t8 --timeout 240 --json > "$TEST_DIR/bench.json" &
BENCH=$!
sleep 4.5
echo redis-restart > "$TEST_DIR/control"
for _ in $(seq 1 100); do grep -q redis-restart "$TEST_DIR/control.log" 2>/dev/null && break; sleep 0.1; done
grep redis-restart "$TEST_DIR/control.log" || fail "dev stack did not restart redis"
wait $BENCH || fail "bench: $(cat "$TEST_DIR/bench.json")"
out=$(cat "$TEST_DIR/bench.json")
echo "$out"
assert_eq "$(json_get "$out" completed)" 3000 "completed workflows"
assert_eq "$(json_get "$out" double_completions)" 0 "double completions"
for key in $(redis --scan --pattern 'baton:{p*}:hist:t8-*'); do
  c=$(redis LRANGE "$key" 0 -1 | grep -c '"WorkflowCompleted"' || true)
  [ "$c" == 1 ] || fail "$key has $c completion events"
done
grep -q "re-reading partition state" "$TEST_DIR/batond.log" \
  || fail "batond never noticed the Redis restart"
pass "a kill -9 and restart of redis-server loses no workflow and applies nothing twice"
