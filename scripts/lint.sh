#!/usr/bin/env bash
# Style checks machines can make (`make lint`, and the test `lint` of `make
# test`): no banned C functions (unbounded or unchecked: strcpy, strcat,
# sprintf, vsprintf, gets, atoi, atol), every C file opens with a comment
# saying what it is, and every C file is as clang-format (.clang-format)
# would write it (`make format` rewrites them).
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
# Outside a git checkout, or in a copy git does not track (the mutation
# check's scratch tree under build/), every C file there.
files=$(git ls-files '*.c' '*.h' 2>/dev/null || true)
[ -n "$files" ] || files=$(find . -path ./build -prune -o -path './build-*' -prune -o \( -name '*.c' -o -name '*.h' \) -print)
if grep -nE '(^|[^_a-z])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol)\s*\(' $files; then
  echo "lint: banned function used (see above); use snprintf, memcpy, baton_parse_i64" >&2
  rc=1
fi
for f in $files; do
  head -c 2 "$f" | grep -q '/\*' || { echo "lint: $f does not open with a comment" >&2; rc=1; }
done
if ! command -v clang-format >/dev/null; then
  echo "lint: clang-format missing (scripts/install-deps.sh installs it)" >&2
  rc=1
else
  # shellcheck disable=SC2086  # one file name per word
  if ! clang-format --dry-run -Werror $files 2>"${TMPDIR:-/tmp}/lint-format.$$"; then
    grep -E '^[^ ].*(warning|error):' "${TMPDIR:-/tmp}/lint-format.$$" | head -20 >&2
    echo "lint: files not in the project's format (above); run 'make format'" >&2
    rc=1
  fi
  rm -f "${TMPDIR:-/tmp}/lint-format.$$"
fi
[ $rc -eq 0 ] && echo "lint: ok ($(echo "$files" | wc -w) files)"
exit $rc
