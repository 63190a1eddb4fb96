#!/usr/bin/env bash
# run-libfuzzer.sh BINARY CORPUS -- one time-boxed libFuzzer run of a fuzz
# target (tests/fuzz/CMakeLists.txt): $BATON_FUZZ_SECONDS (default 10)
# seconds from the committed corpus; new inputs go to a scratch folder that
# is removed, crash inputs to $BATON_FUZZ_ARTIFACTS (default /tmp) so they
# can be added to the corpus as regress-* with their unit test.
set -euo pipefail
bin=$1 corpus=$2
scratch=$(mktemp -d /tmp/baton-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
art=${BATON_FUZZ_ARTIFACTS:-/tmp}/
"$bin" -max_total_time="${BATON_FUZZ_SECONDS:-10}" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$art" -print_final_stats=1 "$scratch" "$corpus"
