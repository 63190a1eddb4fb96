#!/usr/bin/env bash
# 0002: kill -9 of batond three times in the middle of a run of 300
# workflows, restarted each time.  Every workflow completes, none twice, no
# result lost, and an activity ran more than once only if it was in flight
# (its task decided but not yet acknowledged) when batond was killed.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 8 default
EXEC=$TEST_DIR/exec.log
worker_up worker --concurrency 32 --exec-log "$EXEC"
batond_up batond-0
BATOND=$LAST_PID

"$BIN/baton-bench" --workflows 300 --type steps3 --steps 3 --concurrency 30 \
    --id-prefix t2 --timeout 400 --json > "$TEST_DIR/bench.json" &
BENCH=$!
KILLS=()
for i in 1 2 3; do
  sleep 3
  proc_kill9 "$BATOND"
  KILLS+=($(date +%s%3N))
  echo "kill -9 batond ($BATOND) at ${KILLS[-1]}"
  sleep 0.5
  batond_up batond-$i
  BATOND=$LAST_PID
done
wait $BENCH || fail "bench: $(cat "$TEST_DIR/bench.json")"
out=$(cat "$TEST_DIR/bench.json")
echo "$out"
assert_eq "$(json_get "$out" completed)" 300 "completed workflows"
assert_eq "$(json_get "$out" double_completions)" 0 "double completions"
pass "300 workflows completed across 3 kills, none twice"

for key in $(redis --scan --pattern 'baton:{p*}:hist:t2-*'); do
  c=$(redis LRANGE "$key" 0 -1 | grep -c '"WorkflowCompleted"' || true)
  [ "$c" == 1 ] || fail "$key has $c completion events"
  s=$(redis LRANGE "$key" 0 -1 | grep -c '"ActivityCompleted"' || true)
  [ "$s" == 3 ] || fail "$key has $s applied activity results, want 3"
done
pass "each history: one completion, each of the 3 results applied once"

# Re-executions: only tasks in flight at a kill.  A task is in flight at a
# kill when its first execution started less than 3 s before it (tasks are
# acknowledged and leave the outbox within a batch, ~ms; 3 s is generous).
/usr/bin/python3 - "$EXEC" "${KILLS[@]}" <<'PY'
import sys, collections
log, kills = sys.argv[1], [int(k) for k in sys.argv[2:]]
runs = collections.defaultdict(list)
for line in open(log):
    tid, pid, start, end = line.split()
    wf, seq, att = tid.rsplit("/", 2)
    if wf.startswith("t2-"):
        runs[(wf, seq)].append(int(start))
total = sum(len(v) for v in runs.values())
dups = {k: v for k, v in runs.items() if len(v) > 1}
bad = [k for k, v in dups.items()
       if not any(k_ - 3000 <= min(v) <= k_ + 500 for k_ in kills)]
print(f"activities: {len(runs)}, executions: {total}, re-executed: {len(dups)}")
assert len(runs) == 900, f"{len(runs)} activities ran, want 900"
assert not bad, f"re-executed although not in flight at a kill: {bad[:5]}"
assert len(dups) <= 3 * 30, "more re-executions than activities in flight"
PY
pass "only activities in flight at a kill ran again"
