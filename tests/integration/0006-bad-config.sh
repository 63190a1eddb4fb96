#!/usr/bin/env bash
# 0006: wrong configuration and invalid definitions stop batond at start
# with a message naming what is wrong and where.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 2 default

expect_refusal() { # pattern command...
  local pat=$1; shift
  set +e; out=$("$@" 2>&1); rc=$?; set -e
  [ $rc -ne 0 ] || fail "accepted: $*"
  grep -q -- "$pat" <<<"$out" || fail "message of '$*' lacks '$pat': $out"
  echo "refused as expected: $(grep -m1 -- "$pat" <<<"$out")"
}
expect_refusal "batond.batch.max" "$BIN/batond" --set batond.batch.max=lots
expect_refusal "unknown configuration key 'batond.nope'" "$BIN/batond" --set batond.nope=1
printf 'kafka.bootstrap.servers = x\nthis line is wrong\n' > "$TEST_DIR/bad.conf"
expect_refusal "bad.conf:2" "$BIN/batond" --config "$TEST_DIR/bad.conf"
expect_refusal "kafka.no.such.property" "$BIN/batond" --set kafka.no.such.property=1
mkdir -p "$TEST_DIR/wf"
echo '{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}' > "$TEST_DIR/wf/broken.asl.json"
expect_refusal "broken.asl.json" "$BIN/batond" --workflows "$TEST_DIR/wf"
expect_refusal "Nope" "$BIN/batond" --workflows "$TEST_DIR/wf"
expect_refusal "redis" "$BIN/batond" --set redis.url=redis://127.0.0.1:1
pass "bad configuration is refused with a message naming it"
