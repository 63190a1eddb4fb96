#!/usr/bin/env bash
# 0090: batond and an SDK worker speak systemd's notify protocol
# (common/notify.c, the Type=notify units of deploy/systemd/): with
# NOTIFY_SOCKET set they send READY=1 once up, then WATCHDOG=1 from their
# loops at half of WATCHDOG_USEC, and STOPPING=1 on SIGTERM; without
# WATCHDOG_USEC no WATCHDOG=1.  The socket is a unix datagram socket a
# Python listener (tests/tools/notify_listener.py) binds, as systemd would.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 2 default

# listen NAME: a listener on $TEST_DIR/NAME.sock writing $TEST_DIR/NAME.msgs
listen() {
  _bg "listener-$1" /usr/bin/python3 tests/tools/notify_listener.py \
    "$TEST_DIR/$1.sock" "$TEST_DIR/$1.msgs"
  wait_until 10 "listener $1 up" grep -q listening "$TEST_DIR/$1.msgs"
}
# count NAME TEXT: messages of NAME containing TEXT
count() { grep -c -- "$2" "$TEST_DIR/$1.msgs" || true; }
# pets_above NAME N: NAME sent more than N WATCHDOG=1
pets_above() { [ "$(count "$1" WATCHDOG=1)" -gt "$2" ]; }

listen batond
listen worker
listen nowd
NOTIFY_SOCKET=$TEST_DIR/batond.sock WATCHDOG_USEC=1000000 batond_up batond
BATOND=$LAST_PID
NOTIFY_SOCKET=$TEST_DIR/worker.sock WATCHDOG_USEC=1000000 worker_up worker
WORKER=$LAST_PID
NOTIFY_SOCKET=$TEST_DIR/nowd.sock batond_up batond-nowd
NOWD=$LAST_PID

for n in batond worker nowd; do
  wait_until 60 "$n: READY=1" grep -q 'READY=1' "$TEST_DIR/$n.msgs"
done
first=$(sed -n 2p "$TEST_DIR/batond.msgs")
[[ $first == *READY=1* ]] || fail "batond's first message is not READY=1: $first"
pass "READY=1 from batond, the worker and a batond without watchdog"

# WATCHDOG=1 keeps coming from the loop: at least 5 more in ~3 s (every 0.5 s)
b0=$(count batond WATCHDOG=1); w0=$(count worker WATCHDOG=1)
sleep 3.2
b1=$(count batond WATCHDOG=1); w1=$(count worker WATCHDOG=1)
[ $((b1 - b0)) -ge 5 ] || fail "batond sent $((b1 - b0)) WATCHDOG=1 in 3.2 s at WATCHDOG_USEC=1 s, want >= 5"
[ $((w1 - w0)) -ge 5 ] || fail "the worker sent $((w1 - w0)) WATCHDOG=1 in 3.2 s, want >= 5"
[ $((b1 - b0)) -le 8 ] || fail "batond sent $((b1 - b0)) WATCHDOG=1 in 3.2 s: not rate-limited to half the interval"
assert_eq "$(count nowd WATCHDOG=1)" 0 "WATCHDOG=1 without WATCHDOG_USEC"
pass "WATCHDOG=1 every half interval ($((b1 - b0)) and $((w1 - w0)) in 3.2 s), none without a watchdog"

# A frozen loop stops petting the watchdog (what systemd restarts on).
kill -STOP "$BATOND"
b2=$(count batond WATCHDOG=1)
sleep 1.5
assert_eq "$(count batond WATCHDOG=1)" "$b2" "WATCHDOG=1 while batond is frozen"
kill -CONT "$BATOND"
wait_until 10 "WATCHDOG=1 after SIGCONT" pets_above batond "$b2"
pass "no WATCHDOG=1 while the loop is frozen, again after"

proc_stop "$BATOND" || fail "batond exited with $?"
proc_stop "$WORKER" || fail "the worker exited with $?"
proc_stop "$NOWD" || fail "batond (no watchdog) exited with $?"
for n in batond worker nowd; do
  [ "$(count $n STOPPING=1)" -eq 1 ] || fail "$n: $(count $n STOPPING=1) STOPPING=1, want 1"
done
pass "STOPPING=1 on SIGTERM"
