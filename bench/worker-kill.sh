#!/usr/bin/env bash
# bench/worker-kill.sh -- which activities run again after a worker kill -9,
# measured: two test workers share the task queue under a steady load
# (N workflows of tests/chaos/workflows/failover-steps: a 50 ms activity, a
# 1 s durable timer, two no-op activities; C in flight), one is killed with
# -9 after 4 s and not restarted.  Every execution lands in the workers'
# --exec-log (an execution killed midway writes nothing), so a task with
# two lines ran again after it had finished once.  Each such re-run is
# classified by who had finished it first:
#
#   victim    the killed worker finished it but had not committed its
#             offset yet (the worker commits every 100 ms): the survivor
#             gets it again from the last committed offset
#   survivor  the surviving worker itself ran it twice: its own commit was
#             lost in the rebalance (the embedded mock refuses commits
#             while the group rebalances)
#
# Usage: BROKER=apache|embedded bench/worker-kill.sh [N] [C]
# Prints one line of figures; exit status 1 when a workflow did not
# complete or completed twice.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-600}; C=${2:-40}
source scripts/stack-lib.sh
DIR=build/worker-kill
rm -rf "$DIR"; mkdir -p "$DIR"
trap stack_down EXIT
stack_up "$DIR" 8 default
EXEC=$DIR/exec.log
WORKFLOWS_DIR=tests/chaos/workflows batond_up batond
worker_up worker-a --concurrency 16 --exec-log "$EXEC"
WA=$LAST_PID
worker_up worker-b --concurrency 16 --exec-log "$EXEC"
WB=$LAST_PID
sleep 3 # the group forms
"$BIN/baton-bench" --workflows "$N" --type failover-steps --steps 3 \
    --concurrency "$C" --id-prefix wk --timeout 300 --json >"$DIR/bench.json" &
BENCH=$!
sleep 4
KILL_MS=$(date +%s%3N)
proc_kill9 "$WA"
wait $BENCH || true
/usr/bin/python3 - "$EXEC" "$KILL_MS" "$WA" "$WB" "$DIR/bench.json" "${BROKER:-embedded}" <<'PY'
import collections, json, sys
exec_log, kill, wa, wb, bench, broker = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
b = json.load(open(bench))
runs = collections.defaultdict(list)
for line in open(exec_log):
    tid, pid, start, end = line.split()
    if tid.startswith("wk-"):
        runs[tid].append((int(start), int(end), pid))
rerun = {k: sorted(v) for k, v in runs.items() if len(v) > 1}
by = collections.Counter()
for k, v in rerun.items():
    first = v[0]
    by["victim" if first[2] == wa else "survivor"] += 1
ran_after_kill = sum(1 for v in runs.values() if v[0][2] == wb and v[0][0] >= kill)
lat = [v[0][1] - kill for v in rerun.values()]
print(f"broker={broker} workflows={b['completed']}/{b['workflows']} double_completions={b['double_completions']} "
      f"tasks={len(runs)} re_run={len(rerun)} re_run_victim_finished={by['victim']} "
      f"re_run_survivor_finished={by['survivor']} "
      f"first_run_ended_ms_before_kill={sorted(-x for x in lat)[:5]}")
sys.exit(0 if b["completed"] == b["workflows"] and b["double_completions"] == 0 else 1)
PY
