#!/usr/bin/env bash
# Style checks machines can make (run by `make test`): no banned C functions
# (unbounded or unchecked: strcpy, strcat, sprintf, vsprintf, gets, atoi,
# atol), and every C file opens with a comment saying what it is.
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.c' -o -name '*.h')
if grep -nE '(^|[^_a-z])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol)\s*\(' $files; then
  echo "lint: banned function used (see above); use snprintf, memcpy, baton_parse_i64" >&2
  rc=1
fi
for f in $files; do
  head -c 2 "$f" | grep -q '/\*' || { echo "lint: $f does not open with a comment" >&2; rc=1; }
done
[ $rc -eq 0 ] && echo "lint: ok ($(echo "$files" | wc -w) files)"
exit $rc
