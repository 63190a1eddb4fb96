#!/usr/bin/env bash
# 0002: kill -9 of batond three times in the middle of a run of workflows,
# restarted each time.  Every workflow completes, none twice, no result
# lost, and an activity ran more than once only if its task was in flight
# at a kill: in the outbox (decided, not yet acknowledged by Kafka) when
# batond died, read from Redis right after the kill and before the restart
# (those are exactly the tasks a next owner re-sends).
#
# Each kill lands under load and on an owner: before it, the running batond
# has taken its partitions (its log) and the workers have finished at least
# 30 more executions since (the exec log) of tasks that no dead batond's
# outbox held, and the bench is still running.
# So the kills are spaced by at least a handover (measured, printed).  At a
# kill the outbox may hold at most the running workflows' pending tasks, and
# none that was already there at an earlier kill unless its result is still
# not applied (the new owner re-sent it; it runs again at most once per kill
# that found it there).
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 8 default
EXEC=$TEST_DIR/exec.log
STARTS=$TEST_DIR/start.log
N=600
worker_up worker --concurrency 32 --exec-log "$EXEC" --start-log "$STARTS" --name worker
batond_up batond-0
BATOND=$LAST_PID
echo "session.timeout.ms=$(session_ms)"

"$BIN/baton-bench" --workflows $N --type steps3 --steps 3 --concurrency 30 \
    --id-prefix t2 --timeout 400 --json > "$TEST_DIR/bench.json" &
BENCH=$!
# Progress is executions of new tasks: re-runs of what the dead batond's
# outbox held (the new owner re-sends it at once) do not show that the new
# owner has applied results and moved its workflows on.
new_execs() {
  awk 'FILENAME == ARGV[1] { old[$1] = 1; next } !($1 in old)' \
      <(cat "$TEST_DIR"/inflight-* 2>/dev/null) "$EXEC" | wc -l
}
progress_since() { [ "$(new_execs)" -ge $(( $1 + 30 )) ]; }
# Whether the history of task $1's workflow (<wf>/<seq>/<attempt>.<nonce>)
# holds a result of that attempt.
result_applied() {
  local wf=${1%%/*} rest=${1#*/} hist=$TEST_DIR/history.json
  ctl history "$wf" -o json >"$hist" || fail "no history for the workflow of task $1"
  /usr/bin/python3 -c '
import json, sys
seq, att = (int(x) for x in sys.argv[1].split(".")[0].split("/"))
for e in json.load(open(sys.argv[2])):
    d = e.get("data") or {}
    if e.get("type") in ("ActivityCompleted", "ActivityFailed", "ActivityTimedOut") \
            and d.get("seq") == seq and d.get("attempt") == att:
        sys.exit(0)
sys.exit(1)' "$rest" "$hist"
}
KILLS=()
last=$(date +%s%3N)
for i in 1 2 3; do
  wait_until 90 "batond-$((i - 1)) owns partitions" owns_partitions "$TEST_DIR/batond-$((i - 1)).log"
  owned=$(date +%s%3N)
  base=$(new_execs)
  wait_until 60 "30 executions of new tasks after batond-$((i - 1)) took over" progress_since "$base"
  kill -0 $BENCH 2>/dev/null || fail "the bench ended before kill $i: not under load"
  proc_kill9 "$BATOND"
  now=$(date +%s%3N)
  KILLS+=("$now")
  # The tasks a next owner will re-send: the outbox as the dead batond left it.
  for k in $(redis --scan --pattern 'baton:{p*}:outbox'); do redis HVALS "$k"; done \
    | grep -aoE 't2-[0-9]+/[0-9]+/[0-9]+(\.[0-9a-f]+)?' | sort -u > "$TEST_DIR/inflight-$i" || true
  echo "kill $i: batond-$((i - 1)) (pid $BATOND) killed $((now - last)) ms after the previous" \
       "start/kill, $((owned - last)) ms to take over; $(count_lines "$EXEC") executions so far;" \
       "$(count_lines "$TEST_DIR/inflight-$i") tasks in its outbox"
  # At most the 30 running workflows' pending tasks may be in flight, and an
  # acknowledged entry leaves the outbox at the next write: a task still
  # there at a later kill (seconds and a takeover apart) was never deleted,
  # and its re-runs must not excuse themselves.
  n=$(count_lines "$TEST_DIR/inflight-$i")
  [ "$n" -le 30 ] || fail "kill $i: the dead batond's outbox held $n tasks (at most the 30 running workflows' pending ones may be in flight)"
  # A task re-sent by the new owner whose result it has not applied yet is
  # still in flight (0.5 s between its execution and a kill was seen); one
  # whose result is in its history was finished and must have left.
  for j in $(seq 1 $((i - 1))); do
    for t in $(comm -12 "$TEST_DIR/inflight-$j" "$TEST_DIR/inflight-$i"); do
      if result_applied "$t"; then
        fail "kill $i: task $t, in the outbox since kill $j, is still there although its result was applied (acknowledged entries not deleted?)"
      fi
      echo "kill $i: task $t, in the outbox since kill $j, is still in flight (its result not applied yet)"
    done
  done
  last=$now
  batond_up batond-$i
  BATOND=$LAST_PID
done
wait $BENCH || fail "bench: $(cat "$TEST_DIR/bench.json")"
out=$(cat "$TEST_DIR/bench.json")
echo "$out"
assert_eq "$(json_get "$out" completed)" $N "completed workflows"
assert_eq "$(json_get "$out" double_completions)" 0 "double completions"
pass "$N workflows completed across 3 kills, none twice"

# One EVAL counts the events of every history (a redis-cli per key takes
# minutes on this machine): "<key> <completions> <applied results>".
COUNT_LUA='local out = {}
for _, k in ipairs(KEYS) do
  local c, a = 0, 0
  for _, e in ipairs(redis.call("LRANGE", k, 0, -1)) do
    if string.find(e, "\"WorkflowCompleted\"", 1, true) then c = c + 1 end
    if string.find(e, "\"ActivityCompleted\"", 1, true) then a = a + 1 end
  end
  out[#out + 1] = k .. " " .. c .. " " .. a
end
return out'
mapfile -t keys < <(redis --scan --pattern 'baton:{p*}:hist:t2-*')
assert_eq "${#keys[@]}" $N "histories"
redis EVAL "$COUNT_LUA" "${#keys[@]}" "${keys[@]}" > "$TEST_DIR/hist-counts"
assert_eq "$(count_lines "$TEST_DIR/hist-counts")" $N "histories counted"
bad=$(awk '$2 != 1 || $3 != 3' "$TEST_DIR/hist-counts" | head -5)
[ -z "$bad" ] || fail "histories without exactly 1 completion and 3 applied results: $bad"
pass "each of the $N histories: one completion, each of the 3 results applied once"

cat "$TEST_DIR"/inflight-* > "$TEST_DIR/inflight"
/usr/bin/python3 - "$EXEC" "$STARTS" "$TEST_DIR/inflight" "$N" <<'PY'
import sys, collections
log, starts, inflight, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
import glob
# A task runs once, plus once per kill that left it in the dead batond's
# outbox (each new owner re-sends what it finds there).
allowed = collections.Counter()
for f in sorted(glob.glob(inflight + "-*")):
    allowed.update({l.strip() for l in open(f) if l.strip()})
runs = collections.Counter()
for line in open(log):
    tid, pid, start, end = line.split()
    if tid.startswith("t2-"):
        runs[tid] += 1
started = collections.Counter(l.split()[0] for l in open(starts) if l.startswith("t2-"))
acts = {t.rsplit("/", 1)[0] for t in runs}
dups = {t: c for t, c in runs.items() if c > 1}
bad = [t for t in dups if t not in allowed]
print(f"activities: {len(acts)}, executions: {sum(runs.values())}, "
      f"re-executed: {len(dups)}, in an outbox at a kill: {len(allowed)}, "
      f"at two kills or more: {sum(1 for c in allowed.values() if c > 1)}")
assert len(acts) == 3 * n, f"{len(acts)} activities ran, want {3 * n}"
assert started == runs, "an execution started but never finished (or the logs disagree)"
assert not bad, f"re-executed although not in flight at a kill: {bad[:5]}"
over = [t for t, c in dups.items() if c > 1 + allowed[t]]
assert not over, f"ran more often than 1 + the kills that left it in an outbox: {over[:5]}"
PY
pass "only activities in flight at a kill ran again"
