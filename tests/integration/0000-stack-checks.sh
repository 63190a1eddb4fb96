#!/usr/bin/env bash
# 0000: the suite's own end check can fail.  stack_down (scripts/stack-lib.sh)
# must report a daemon that exited non-zero, one that had to be SIGKILLed,
# and a sanitizer report in any log, and must not report a clean exit or a
# kill -9 done on purpose.  Every other test relies on this check.
source "$(dirname "$0")/lib.sh"

# Runs stack_down in a subshell over a fresh set of fake daemons (bash
# processes named like real ones) and prints its status.
check_case() { # name script
  (
    STACK_PIDS=(); STACK_DIR="$TEST_DIR/$1"; mkdir -p "$STACK_DIR"
    declare -A STACK_NAME=() STACK_STATUS=() STACK_KILLED=()
    _bg fake bash -c "$2"
    sleep 0.3
    [ "$1" == killed ] && proc_kill9 "$LAST_PID"
    stack_down 2>"$STACK_DIR/findings.txt"
  ) && echo 0 || echo 1
}

assert_eq "$(check_case clean 'trap "exit 0" TERM; while :; do sleep 0.05; done')" 0 \
  "a daemon that exits 0 on SIGTERM"
assert_eq "$(check_case killed 'while :; do sleep 0.05; done')" 0 \
  "a daemon killed with -9 on purpose"
assert_eq "$(check_case status 'trap "exit 3" TERM; while :; do sleep 0.05; done')" 1 \
  "a daemon that exits 3 on SIGTERM"
grep -q 'exited with status 3' "$TEST_DIR/status/findings.txt" || fail "finding lacks the status"
assert_eq "$(check_case early 'exit 1')" 1 "a daemon that died before the stop"
assert_eq "$(check_case asan 'echo "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1"; trap "exit 0" TERM; while :; do sleep 0.05; done')" 1 \
  "an AddressSanitizer report in a log"
grep -q 'heap-use-after-free' "$TEST_DIR/asan/findings.txt" || fail "the report is not printed"
assert_eq "$(check_case ubsan 'echo "engine.c:12:5: runtime error: signed integer overflow"; exit 0')" 1 \
  "an UndefinedBehaviorSanitizer report in a log"
assert_eq "$(check_case lsan 'echo "==9==ERROR: LeakSanitizer: detected memory leaks"; exit 0')" 1 \
  "a LeakSanitizer report in a log"
pass "stack_down reports failed exits and sanitizer reports, not clean exits or kills on purpose"
