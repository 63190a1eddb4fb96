#!/usr/bin/env bash
# run.sh -- `make test-the-tests`: the mutation check.  For each row of
# tests/mutation/mutations.txt (one per guarantee of the README's
# "Guarantees" table) it breaks the guarantee on purpose in a scratch copy
# of the tree (build/mutation/src, a perl substitution), builds only the
# targets the row names (build/mutation/build, the ASan flags of
# build-asan, -j2, incremental), runs only the named test against them and
# expects it to FAIL; then restores the file.  Prints the table (guarantee,
# mutation, test, result: caught / MISSED / error, with the seconds the row
# took and the first failure line of its log) and exits 1 unless every
# row is caught.
#
#   tests/mutation/run.sh [ID...]     only these rows (default: all)
#
# A row's test is integration:<script>, src:<script> (the same, run from
# the scratch tree: for a mutated deploy file, which the script reads from
# its own tree), unit:<test_x> (ctest unit.test_x) or ctest:<name> (any
# other ctest test of the scratch build, e.g. fuzz.envelope, or lint,
# which checks the scratch tree); its targets "-" when nothing is to be
# built (lint, deploy files).
#
# Integration tests run with BATON_BIN = build/mutation/bin: the binaries
# of build-asan, the row's rebuilt targets in their place.  Needs
# build-asan (make build-asan) and, for BROKER=apache, the Kafka jars.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
M=$ROOT/build/mutation
SRC=$M/src BLD=$M/build BINDIR=$M/bin
TABLE=$ROOT/tests/mutation/mutations.txt
JOBS=${JOBS:-2}
[ -x "$ROOT/build-asan/bin/batond" ] || { echo "run make build-asan first" >&2; exit 2; }
mkdir -p "$M/logs"

# The scratch copy: tracked and new files of the working tree, with their
# exact modification times (pax headers: ustar's whole seconds made a file
# edited in the second its object was built look older, never rebuilt).
# The build is incremental, so every file a row ever mutated is touched:
# an object built from a mutation by an earlier run is rebuilt from the
# restored text, not linked into this run's rows.
rm -rf "$SRC" && mkdir -p "$SRC"
(cd "$ROOT" && git ls-files -co --exclude-standard -z | grep -zv '^build' |
  tar --format=posix --null -T - -cf -) | tar -C "$SRC" -xf - || exit 2
# (A build of an older run.sh kept no list: every file the table names.)
[ -f "$M/mutated" ] || [ ! -d "$BLD" ] ||
  grep -v '^#' "$TABLE" | awk -F ' [|] ' 'NF > 4 { print $4 }' >"$M/mutated"
if [ -f "$M/mutated" ]; then
  sort -u "$M/mutated" | while IFS= read -r f; do
    if [ -f "$SRC/$f" ]; then touch "$SRC/$f"; fi
  done
fi
cmake -S "$SRC" -B "$BLD" -DCMAKE_BUILD_TYPE=Debug -DBATON_SANITIZE=ON >"$M/logs/cmake.log" 2>&1 ||
  { cat "$M/logs/cmake.log"; exit 2; }

declare -a ROWS=()
run_row() { # id guarantee mutation file expr targets test
  local id=$1 file=$4 expr=$5 targets=$6 test=$7 log=$M/logs/$1.log t0 rc
  t0=$(date +%s)
  cp -p "$SRC/$file" "$M/orig"
  echo "$file" >>"$M/mutated"
  perl -0pi -e "$expr" "$SRC/$file"
  : >"$log"
  if cmp -s "$SRC/$file" "$M/orig"; then
    RESULT="error: mutation did not apply"
  elif [ "$targets" != - ] &&
    ! cmake --build "$BLD" -j"$JOBS" --target $targets >"$log" 2>&1; then
    RESULT="error: build failed (see $log)"
  else
    rm -rf "$BINDIR" && mkdir -p "$BINDIR"
    ln -s "$ROOT"/build-asan/bin/* "$BINDIR"/
    for t in $targets; do [ -x "$BLD/bin/$t" ] && ln -sf "$BLD/bin/$t" "$BINDIR/$t"; done
    echo "== $id: running $test" >&2
    case $test in
      integration:*)
        (cd "$ROOT" && BATON_BIN=$BINDIR timeout 900 bash "tests/integration/${test#integration:}.sh") >>"$log" 2>&1 ;;
      src:*) # the scratch tree's own copy: a mutated file that is not code
        BATON_BIN=$BINDIR timeout 900 bash "$SRC/tests/integration/${test#src:}.sh" >>"$log" 2>&1 ;;
      unit:*)
        (cd "$BLD" && timeout 600 ctest -R "^unit\.${test#unit:}\$" --output-on-failure) >>"$log" 2>&1 ;;
      ctest:*)
        (cd "$BLD" && timeout 600 ctest -R "^${test#ctest:}\$" --output-on-failure) >>"$log" 2>&1 ;;
    esac
    rc=$?
    if [ $rc -ne 0 ]; then RESULT="caught"; else RESULT="MISSED"; fi
    grep -m1 -E '^FAIL|Assertion|assert|ERROR: [A-Za-z]+Sanitizer|runtime error|^lint:|FAILED|timed out' "$log" | cut -c1-100 >"$M/logs/$id.why" || true
  fi
  cp -p "$M/orig" "$SRC/$file" && touch "$SRC/$file"
  RESULT="$RESULT ($(( $(date +%s) - t0 )) s)"
}

all=1
while IFS= read -r line; do
  case $line in '#'* | '') continue ;; esac
  IFS=$'\t' read -r id guarantee mutation file expr targets test <<<"${line// | /$'\t'}"
  if [ $# -gt 0 ] && [[ " $* " != *" $id "* ]]; then continue; fi
  echo "== $id: $mutation ($file)" >&2
  run_row "$id" "$guarantee" "$mutation" "$file" "$expr" "$targets" "$test"
  case $RESULT in caught*) ;; *) all=0 ;; esac
  ROWS+=("$guarantee|$mutation|${test#*:}|$RESULT|$(cat "$M/logs/$id.why" 2>/dev/null)")
  echo "== $id: $RESULT" >&2
done <"$TABLE"

printf '\n%-48s | %-60s | %-40s | %s\n' guarantee mutation test result
for r in "${ROWS[@]}"; do
  IFS='|' read -r g m t res why <<<"$r"
  printf '%-48.48s | %-60.60s | %-40.40s | %s\n' "$g" "$m" "$t" "$res"
  [ -n "$why" ] && printf '%-48s   failed with: %s\n' "" "$why"
done
[ $all -eq 1 ] && echo "every mutation caught" || { echo "some mutation was not caught (see build/mutation/logs)"; exit 1; }
