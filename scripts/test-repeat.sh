#!/usr/bin/env bash
# test-repeat.sh -- runs the whole suite (`make test`) RUNS times in a row
# on a clean clone of HEAD and prints what a flaky suite hides: which runs
# failed, which tests failed in which run, each test's time over the runs
# (min / median / max) and the machine's load around each run.
#
#   make test-repeat RUNS=10 [FRESH=1] [TESTS=regex]
#
# The clone is made once in build/test-repeat/<stamp>/src and built once;
# every run then repeats its ctest (FRESH=1: a new clone and build per run,
# as CI does; TESTS=regex: only the tests ctest -R selects, to hammer a
# suspect).  After each run no process the suite started may be left
# (redis-server, a Kafka JVM, a baton daemon): one is a failure of that run.
# Everything lands in build/test-repeat/<stamp>/: run-N.log (ctest's
# output), run-N.tsv (test, result, seconds) and summary.md (the tables).
# Exit status 0 only when every run passed.
set -uo pipefail

RUNS=${1:-${RUNS:-10}}
FRESH=${FRESH:-0}
TESTS=${TESTS:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$ROOT/build/test-repeat/$STAMP
SRC=$OUT/src
LEFT='redis-server|kafka\.Kafka|baton-(devstack|worker|bridge|api)|batond'

die() {
  echo "test-repeat: $*" >&2
  exit 2
}

case $RUNS in '' | *[!0-9]* | 0) die "RUNS must be a positive number, not '$RUNS'" ;; esac
mkdir -p "$OUT" || die "cannot create $OUT"

# The processes a finished suite must not leave behind.
leftovers() {
  pgrep -a -f "$LEFT|$SRC/" | grep -v -e test-repeat || true
}

clone_and_build() {
  rm -rf "$SRC"
  git clone -q "$ROOT" "$SRC" || die "git clone of $ROOT failed"
  (cd "$SRC" && make build build-asan kafka) >"$OUT/build.log" 2>&1 ||
    die "the build failed: see $OUT/build.log"
}

# ctest's result lines as "name<TAB>result<TAB>seconds".
tsv_of() {
  sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \([^ ]*\) \.*[ *]*\([A-Za-z]*\).* \([0-9.]*\) sec$/\1\t\2\t\3/p' "$1"
}

[ -n "$(leftovers)" ] && die "processes of an earlier run are still there:
$(leftovers)"
[ "$FRESH" = 1 ] || clone_and_build
git -C "$ROOT" rev-parse --short HEAD >"$OUT/commit"
echo "test-repeat: $RUNS runs of commit $(cat "$OUT/commit") in $OUT"

failed=0
for i in $(seq 1 "$RUNS"); do
  [ "$FRESH" = 1 ] && clone_and_build
  load0=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s)
  (cd "$SRC/build-asan" && ctest --output-on-failure --timeout 900 -j1 ${TESTS:+-R "$TESTS"}) >"$OUT/run-$i.log" 2>&1
  rc=$?
  secs=$(($(date +%s) - t0))
  left=$(leftovers)
  if [ -n "$left" ]; then
    printf 'left behind after run %d:\n%s\n' "$i" "$left" >>"$OUT/run-$i.log"
    rc=1
    pkill -9 -f "$LEFT|$SRC/" || true
  fi
  tsv_of "$OUT/run-$i.log" >"$OUT/run-$i.tsv"
  printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$rc" "$secs" "$load0" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/runs.tsv"
  [ "$rc" = 0 ] || failed=$((failed + 1))
  echo "run $i/$RUNS: $([ "$rc" = 0 ] && echo passed || echo FAILED) in $secs s" \
    "($(grep -c . "$OUT/run-$i.tsv") tests; failed: $(awk -F'\t' '$2 != "Passed" {printf "%s ", $1}' "$OUT/run-$i.tsv"))"
done

/usr/bin/python3 - "$OUT" "$RUNS" <<'PY' | tee "$OUT/summary.md"
import csv, os, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
commit = open(os.path.join(out, "commit")).read().strip()
rows = list(csv.reader(open(os.path.join(out, "runs.tsv")), delimiter="\t"))
times, fails = {}, {}
for r in rows:
    for name, result, secs in csv.reader(open(os.path.join(out, "run-%s.tsv" % r[0])), delimiter="\t"):
        times.setdefault(name, []).append(float(secs))
        if result != "Passed":
            fails.setdefault(name, []).append("%s (%s)" % (r[0], result))
passed = sum(1 for r in rows if r[1] == "0")
print("# make test, %d runs of %s: %d passed, %d failed\n" % (runs, commit, passed, runs - passed))
print("| run | result | seconds | load before | load after |")
print("| ---: | --- | ---: | ---: | ---: |")
for r in rows:
    print("| %s | %s | %s | %s | %s |" % (r[0], "passed" if r[1] == "0" else "FAILED", r[2], r[3], r[4]))
print("\n## Tests that failed\n")
if not fails:
    print("none")
for name, where in sorted(fails.items()):
    print("- %s: run %s" % (name, ", ".join(where)))
print("\n## The 15 slowest tests (seconds over the runs)\n")
print("| test | min | median | max |")
print("| --- | ---: | ---: | ---: |")
for name, t in sorted(times.items(), key=lambda kv: -statistics.median(kv[1]))[:15]:
    print("| %s | %.1f | %.1f | %.1f |" % (name, min(t), statistics.median(t), max(t)))
PY
[ "$failed" = 0 ]
