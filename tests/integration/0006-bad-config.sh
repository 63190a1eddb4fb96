#!/usr/bin/env bash
# 0006: wrong configuration and invalid definitions stop batond at start
# with a message naming what is wrong and where.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 2 default

# expect_refusal PATTERN COMMAND...: COMMAND exits with status 1 within
# 30 s (a wrongly accepted configuration would run on: timeout says so),
# and its error line "batond ERROR [main] ..." matches PATTERN (extended
# regex); no sanitizer report.
expect_refusal() {
  local pat=$1 rc; shift
  set +e; out=$(timeout 30 "$@" 2>&1 </dev/null); rc=$?; set -e
  [ $rc -ne 124 ] || fail "accepted (still running after 30 s): $*"
  [ $rc -eq 1 ] || fail "'$*' exited with $rc, want 1: $out"
  ! grep -qE "$STACK_SANITIZER_RE" <<<"$out" || fail "sanitizer report from '$*': $out"
  grep -qE -- "batond ERROR \[[a-z]+\] .*$pat" <<<"$out" || fail "message of '$*' lacks '$pat': $out"
  echo "refused as expected: $(grep -m1 -E -- "$pat" <<<"$out")"
}
expect_refusal "configuration key 'batond.batch.max' wants an integer, not 'lots'" "$BIN/batond" --set batond.batch.max=lots
expect_refusal "unknown configuration key 'batond.nope'" "$BIN/batond" --set batond.nope=1
printf 'kafka.bootstrap.servers = x\nthis line is wrong\n' > "$TEST_DIR/bad.conf"
expect_refusal "bad.conf:2: expected .key = value., got .this line is wrong." "$BIN/batond" --config "$TEST_DIR/bad.conf"
expect_refusal "kafka.no.such.property: No such configuration property" "$BIN/batond" --set kafka.no.such.property=1
mkdir -p "$TEST_DIR/wf"
echo '{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}' > "$TEST_DIR/wf/broken.asl.json"
expect_refusal "broken.asl.json" "$BIN/batond" --workflows "$TEST_DIR/wf"
expect_refusal "state 'A': Next 'Nope' is not a state" "$BIN/batond" --workflows "$TEST_DIR/wf"
expect_refusal "connecting to Redis at redis://127.0.0.1:1: Connection refused" "$BIN/batond" --set redis.url=redis://127.0.0.1:1
pass "bad configuration is refused with a message naming it"
