#!/usr/bin/env bash
# 0026: batch analysis (config/workflows/batch-analysis.asl.json): summarize
# BATCH_DOCS documents (default 10,000, the example's size) with at most 50
# in flight (Map, MaxConcurrency 50), while batond is killed -9 a third of
# the way and the worker two thirds of the way, each restarted.  Asserts
# the output holds every summary in document order, that every document
# was summarized, that no document was summarized twice unless that
# attempt was in flight at a kill (its earlier execution ended at most
# 5 s before a kill, and at most 50 per kill: MaxConcurrency), and that
# never more than 50 documents were summarized at once.  The claim check's
# blobs stay linear in the Map's size: the Map's results (an object keyed by
# item index, growing a few members a batch) are stored in parts of 32
# results, each once, not as a new blob of all the results at every batch
# write (which made Redis hold over 150 MB of blobs for 10,000 items).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/patterns-lib.sh"
N=${BATCH_DOCS:-10000}
patterns_up 8
agent_worker_up w-docs docs --concurrency 50 --sleep doc.summarize=100
WORKER=$LAST_PID

# Waits until the exec log holds at least $1 lines (300 s at most).
await_execs() {
  local i
  for i in $(seq 1 3000); do
    [ "$(wc -l <"$EXEC_LOG")" -ge "$1" ] && return 0
    sleep 0.1
  done
  fail "fewer than $1 executions after 300 s: $(wc -l <"$EXEC_LOG")"
}

# blob_bytes: "<keys> <bytes> <used_memory>" of the claim check's blob keys
# (held or expiring after the run: blob.retention.s) and of Redis.
blob_bytes() {
  local kb mem
  kb=$(redis --raw EVAL "local c, n, b = '0', 0, 0
    repeat
      local r = redis.call('SCAN', c, 'MATCH', '*:blob:*', 'COUNT', 1000)
      c = r[1]
      for _, k in ipairs(r[2]) do n = n + 1; b = b + redis.call('STRLEN', k) end
    until c == '0'
    return n .. ' ' .. b" 0)
  mem=$(redis INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
  echo "$kb $mem"
}
# Linear: at most 800 bytes of blobs per item (4 MB at least); a blob of
# all the results per batch write is quadratic (130 MB at 10,000 items).
BLOB_MAX=$(( N * 800 > 4194304 ? N * 800 : 4194304 ))
assert_blobs_linear() {
  local n b mem
  read -r n b mem < <(blob_bytes)
  echo "# $1: $n blob keys, $b bytes; redis used_memory $mem"
  [ "$b" -le "$BLOB_MAX" ] || fail "$1: $n blobs of $b bytes, more than $BLOB_MAX (a blob of all the Map's results per batch?)"
}

t0=$(date +%s%3N)
ctl start batch-analysis --id t26 --input "{\"count\":$N}" >/dev/null
await_execs $((N / 3))
k1=$(date +%s%3N)
proc_kill9 "$BATOND"
batond_up batond-restarted
BATOND=$LAST_PID
await_execs $((2 * N / 3))
assert_blobs_linear "two thirds in"
k2=$(date +%s%3N)
proc_kill9 "$WORKER"
agent_worker_up w-docs-restarted docs --concurrency 50 --sleep doc.summarize=100
pass "killed batond after $(( (k1 - t0) / 1000 )) s and the worker after $(( (k2 - t0) / 1000 )) s, both restarted"

out=$(ctl result t26 --wait 600 -o json) || fail "batch did not succeed: $(printf %s "$out" | head -c 500)"
t1=$(date +%s%3N)
printf '%s' "$out" >"$TEST_DIR/output.json"
/usr/bin/python3 - "$TEST_DIR/output.json" "$N" <<'PY' || fail "output check"
import json, sys
out = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert out["documents"] == n, out["documents"]
s = out["summaries"]
assert len(s) == n, len(s)
for i, x in enumerate(s):
    doc = "doc-%05d" % (i + 1)
    want = {"doc": doc, "index": i, "summary": "summary of " + doc}
    assert x == want, (i, x)
PY
pass "$N summaries, in document order, in $(( (t1 - t0) / 1000 )) s"
assert_blobs_linear "at the end"
pass "the claim check's blobs stay within $BLOB_MAX bytes (linear in the Map's size)"

report=$(/usr/bin/python3 - "$EXEC_LOG" "$N" "$k1" "$k2" <<'PY') || fail "executions: $report"
import collections, sys
log, n, kills = sys.argv[1], int(sys.argv[2]), [int(k) for k in sys.argv[3:]]
runs = collections.defaultdict(list)
for line in open(log):
    f = line.split()
    if f[4] != "doc.summarize":
        continue
    doc = int(f[0].split("/")[0].rsplit(":", 1)[1].split(".")[0])  # "<run>:<seq>:<item>.<nonce>"
    runs[doc].append((int(f[2]), int(f[3]), f[0]))
missing = [d for d in range(n) if d not in runs]
assert not missing, "never summarized: %s" % missing[:10]
dups, per_kill = [], collections.Counter()
for doc, r in runs.items():
    r.sort()
    for (s0, e0, t0), (s1, e1, t1) in zip(r, r[1:]):
        near = [k for k in kills if k - 5000 <= e0 <= k + 1000 and s1 >= k - 5000]
        assert near, "doc %d summarized again though finished: %s %s" % (
            doc, (t0, s0, e0), (t1, s1, e1))
        per_kill[near[0]] += 1
        dups.append(doc)
for k, c in per_kill.items():
    assert c <= 50, "%d documents re-summarized around the kill at %d" % (c, k)
ev = sorted([(r[0][0], 1) for r in runs.values()] + [(r[0][1], -1) for r in runs.values()])
cur = peak = 0
for _, d in ev:
    cur += d
    peak = max(peak, cur)
assert peak <= 50, "%d summaries at once" % peak
print("%d executions of %d documents; %d re-run around the kills %s; peak %d at once"
      % (sum(len(r) for r in runs.values()), n, len(dups),
         [per_kill[k] for k in kills], peak))
PY
echo "$report"
pass "every document summarized; re-runs only of attempts in flight at a kill; at most 50 at once"

status=$(ctl describe t26 -o json | /usr/bin/python3 -c '
import json, sys; print(json.load(sys.stdin)["status"])')
assert_eq "$status" SUCCEEDED "status"
assert_eq "$(exec_count doc.list t26/)" 1 "document listings"
# The history keeps the last batond.history.max (1000) events: the Map's
# last child completions, then the end.
tail=$(ctl history t26 -o json | /usr/bin/python3 -c '
import json, sys
h = json.load(sys.stdin)
kids = [e for e in h if e["type"] == "ChildCompleted"]
print(len(h), all(e["data"]["error"] is None for e in kids), h[-1]["type"], h[-1]["state"])')
assert_eq "$tail" "$(( N + 5 < 1000 ? N + 5 : 1000 )) True WorkflowCompleted Report" "history kept"
pass "one listing, the Map's children all succeeded, SUCCEEDED at Report"
