#!/usr/bin/env bash
# 0011: failover.  Three batond instances in one consumer group split the
# partitions; under a steady load of workflows (an activity, a durable Wait
# timer, two more activities) one of them is killed with -9 and not
# restarted.  The two others take its partitions over: every workflow
# completes exactly once, every activity result and every timer is applied
# once, only activities in flight at the kill run again, and the handover
# is measured and bounded:
#
#   take-over  kill -9 -> a survivor has read the dead one's last partition
#              from Redis (offsets, timers, outbox re-sent): "took
#              partition P" in its log
#   first      kill -9 -> the first history event applied on a dead one's
#              partition after a survivor took it (its first batch there)
#
#   clean      SIGTERM of a second instance (after the kill, still under
#              load) -> the last survivor took all of its partitions; no
#              activity of that phase runs twice (the leaver flushed its
#              outbox and stored its offsets before leaving)
#
# The bounds rest on the consumer group settings the dev stack writes
# (README.md "Failover").  On Apache Kafka (the default) the coordinator
# expires a dead member after session.timeout.ms and rebalances at once
# (scripts/kafka.sh: group.initial.rebalance.delay.ms=0), the others join at
# their next heartbeat: the bound is session.timeout.ms + 2 s, with a 3000
# ms session and 500 ms heartbeat; a member that leaves (SIGTERM: LeaveGroup)
# is replaced at the others' next heartbeat: bound 1 s.  On the embedded
# broker (BROKER=embedded) the mock expires a dead member after
# session.timeout.ms (checked once a second), then waits session.timeout.ms
# - 1 s for the others to rejoin, and needs a session of at least ~3.5 s (a
# group's first member waits 3 s for its assignment without heartbeating):
# 4000 ms, bound 2 x session + 3 s for both handovers.  FAILOVER_SESSION_MS,
# FAILOVER_HEARTBEAT_MS, FAILOVER_BOUND_MS, FAILOVER_TERM_BOUND_MS override.
source "$(dirname "$0")/lib.sh"
HEARTBEAT_MS=${FAILOVER_HEARTBEAT_MS:-500}
if [ "$BROKER" = apache ]; then
  SESSION_MS=${FAILOVER_SESSION_MS:-3000}
  BOUND_MS=${FAILOVER_BOUND_MS:-$((SESSION_MS + 2000))}
  TERM_BOUND_MS=${FAILOVER_TERM_BOUND_MS:-1000}
else
  SESSION_MS=${FAILOVER_SESSION_MS:-4000}
  BOUND_MS=${FAILOVER_BOUND_MS:-$((2 * SESSION_MS + 3000))}
  TERM_BOUND_MS=${FAILOVER_TERM_BOUND_MS:-$BOUND_MS}
fi
N=${FAILOVER_WORKFLOWS:-300}
DEVSTACK_ARGS="--session-timeout-ms $SESSION_MS --heartbeat-ms $HEARTBEAT_MS"
WORKFLOWS_DIR=tests/chaos/workflows
PARTS=8
stack_up "$TEST_DIR" $PARTS default
EXEC=$TEST_DIR/exec.log
worker_up worker --concurrency 32 --exec-log "$EXEC"
PIDS=()
for i in 0 1 2; do
  batond_up batond-$i
  PIDS+=($LAST_PID)
done

# The group is formed when every instance took partitions and no
# rebalance happened for 2 s.
owned() { grep -c "took partition" "$TEST_DIR/batond-$1.log" 2>/dev/null || true; }
formed=
for t in $(seq 1 120); do
  a=$(owned 0)/$(owned 1)/$(owned 2)
  if [ "$(owned 0)" -gt 0 ] && [ "$(owned 1)" -gt 0 ] && [ "$(owned 2)" -gt 0 ] \
     && [ "$a" == "${prev:-}" ]; then formed=1; break; fi
  prev=$a
  sleep 2
done
[ -n "$formed" ] || fail "the three instances did not all get partitions"
pass "3 instances share $PARTS partitions ($a partition take-overs so far)"

# --stall 60: a take-over that loses work fails the bench within a minute
# of the last completion, not at its 400 s deadline.
"$BIN/baton-bench" --workflows "$N" --type failover-steps --steps 3 \
    --concurrency 40 --id-prefix t11 --timeout 400 --stall 60 --json \
    > "$TEST_DIR/bench.json" &
BENCH=$!
sleep 4
VICTIM=1
# An instance's partitions: the take-overs after its last assignment.
owned_parts() {
  awk '/assigned [0-9]+ topic partitions/{n=split("",p)} /took partition/{
         for (i=1;i<=NF;i++) if ($i=="partition") p[$(i+1)]=1 }
       END{for (k in p) printf "%s ", k}' "$TEST_DIR/batond-$1.log"
}
DEAD=$(owned_parts $VICTIM)
[ -n "$DEAD" ] || fail "batond-$VICTIM owns no partition"
KILL_MS=$(date +%s%3N)
proc_kill9 "${PIDS[$VICTIM]}"
echo "kill -9 batond-$VICTIM (pid ${PIDS[$VICTIM]}) at $KILL_MS; it owned partitions: $DEAD"

wait $BENCH || fail "bench: $(cat "$TEST_DIR/bench.json")"
out=$(cat "$TEST_DIR/bench.json")
echo "$out"
assert_eq "$(json_get "$out" completed)" "$N" "completed workflows"
assert_eq "$(json_get "$out" double_completions)" 0 "double completions"
pass "$N workflows completed after the kill, none twice"

# Histories, exec log and handover, in one pass.
url=$(sed -n 's/^redis.url *= *//p' "$BATON_STACK_FILE")
REDIS_PORT=${url##*:}
# check.py MODE PREFIX EVENT_MS BOUND_MS N SURVIVORS DEAD_PARTITIONS...
# (MODE kill: re-runs only of tasks in flight; term: no re-run at all).
cat >"$TEST_DIR/check.py" <<'PY'
import collections, datetime, json, re, subprocess, sys
d, port = sys.argv[1], sys.argv[2]
mode, prefix, kill, bound, n = sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
survivors = [int(i) for i in sys.argv[8].split(",")]
dead = set(int(p) for p in sys.argv[9:])

def redis(*args):
    return subprocess.run(["redis-cli", "-p", port, *args], check=True,
                          capture_output=True, text=True).stdout.splitlines()

def log_ms(line):
    t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)

# Take-over: the first "took partition P" after the kill, for each P.
took = {}
for i in survivors:
    for line in open(f"{d}/batond-{i}.log"):
        m = re.search(r"took partition (\d+) ", line)
        if m and int(m.group(1)) in dead and log_ms(line) >= kill:
            took.setdefault(int(m.group(1)), log_ms(line))
missing = dead - set(took)
assert not missing, f"partitions {sorted(missing)} were never taken over"
takeover = max(took.values()) - kill

# Histories: exactly-once application, timers once and not early, and the
# first event applied on a dead partition after the kill.
bad, first, late = [], None, 0
keys = [k for k in redis("--scan", "--pattern", f"baton:{{p*}}:hist:{prefix}-*")]
assert len(keys) == n, f"{len(keys)} histories, want {n}"
for k in keys:
    part = int(re.match(r"baton:\{p(\d+)\}", k).group(1))
    evs = [json.loads(e) for e in redis("LRANGE", k, "0", "-1")]
    types = collections.Counter(e["type"] for e in evs)
    done = [e["data"]["seq"] for e in evs if e["type"] == "ActivityCompleted"]
    seqs = [e["seq"] for e in evs]
    if (types["WorkflowCompleted"] != 1 or len(done) != 3 or len(set(done)) != 3
            or types["WaitStarted"] != 1 or types["WaitEnded"] != 1
            or seqs != list(range(1, len(seqs) + 1))):
        bad.append((k, dict(types)))
        continue
    until = next(e["data"]["until"] for e in evs if e["type"] == "WaitStarted")
    ended = next(e["time"] for e in evs if e["type"] == "WaitEnded")
    if ended < until:
        bad.append((k, f"timer fired {until - ended} ms early"))
    late = max(late, ended - until)
    if part in dead:
        # After the take-over: the victim's own last batches (applied
        # while the kill was on its way) do not count.
        after = [e["time"] for e in evs if e["time"] >= took[part]]
        if after and (first is None or min(after) < first):
            first = min(after)
assert not bad, f"{len(bad)} bad histories, e.g. {bad[:3]}"
assert first is not None, "no event applied on the dead partitions after the kill"

# Re-executions: only tasks in flight at the kill (their first execution
# started less than 3 s before it; acknowledged tasks leave the outbox
# within a batch).
runs = collections.defaultdict(list)
for line in open(f"{d}/exec.log"):
    tid, pid, start, end = line.split()
    wf, seq, att = tid.rsplit("/", 2)
    att = att.split(".")[0]  # the attempt, without its nonce
    if wf.startswith(prefix + "-"):
        runs[(wf, seq, att)].append(int(start))
dups = {k: v for k, v in runs.items() if len(v) > 1}
if mode == "kill":
    unjust = [k for k, v in dups.items() if not (kill - 3000 <= min(v) <= kill + 500)]
else:
    unjust = list(dups)
assert len(runs) == 3 * n, f"{len(runs)} activities ran, want {3 * n}"
assert not unjust, f"re-executed although not in flight at the kill: {unjust[:5]}"

what = "kill -9" if mode == "kill" else "SIGTERM"
print(f"handover after {what}: take-over {takeover} ms, first batch applied on "
      f"a handed-over partition {first - kill} ms after it (bound {bound} ms); "
      f"partitions {sorted(dead)}; timers at most {late} ms late; "
      f"{len(dups)} activities re-run")
assert takeover <= bound, f"take-over took {takeover} ms > bound {bound} ms"
assert first - kill <= bound, f"first batch {first - kill} ms > bound {bound} ms"
PY
/usr/bin/python3 "$TEST_DIR/check.py" "$TEST_DIR" "$REDIS_PORT" kill t11 "$KILL_MS" \
    "$BOUND_MS" "$N" 0,2 $DEAD
pass "kill -9: histories exact, timers once, re-runs only in flight, handover bounded"

# A clean stop under load: SIGTERM of batond-0, batond-2 takes everything.
"$BIN/baton-bench" --workflows "$N" --type failover-steps --steps 3 \
    --concurrency 40 --id-prefix t11t --timeout 400 --stall 60 --json \
    > "$TEST_DIR/bench-term.json" &
BENCH=$!
sleep 4
LEAVER=0
LEFT=$(owned_parts $LEAVER)
[ -n "$LEFT" ] || fail "batond-$LEAVER owns no partition"
TERM_MS=$(date +%s%3N)
proc_stop "${PIDS[$LEAVER]}" || fail "batond-$LEAVER did not exit cleanly on SIGTERM"
echo "SIGTERM batond-$LEAVER at $TERM_MS (exited after $(($(date +%s%3N) - TERM_MS)) ms); it owned partitions: $LEFT"
wait $BENCH || fail "bench: $(cat "$TEST_DIR/bench-term.json")"
out=$(cat "$TEST_DIR/bench-term.json")
echo "$out"
assert_eq "$(json_get "$out" completed)" "$N" "completed workflows"
assert_eq "$(json_get "$out" double_completions)" 0 "double completions"
/usr/bin/python3 "$TEST_DIR/check.py" "$TEST_DIR" "$REDIS_PORT" term t11t "$TERM_MS" \
    "$TERM_BOUND_MS" "$N" 2 $LEFT
pass "SIGTERM: histories exact, timers once, nothing re-run, handover within $TERM_BOUND_MS ms"
