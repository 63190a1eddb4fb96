#!/usr/bin/env bash
# 0010: fencing.  When another instance takes a partition over (it INCRs the
# partition's epoch in Redis), a batond still holding it can no longer write
# there: its batch for that partition is dropped unwritten, and the other
# partitions keep flowing.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
batond_up batond
BATOND=$LAST_PID
worker_up worker
ctl start steps3 --id t10-warm --input '{}' >/dev/null
ctl result t10-warm --wait 60 >/dev/null || fail "warm-up run did not complete"

P=$("$BIN/baton-kafka" partition baton.commands t10-fenced)
other=
for i in $(seq 1 50); do
  q=$("$BIN/baton-kafka" partition baton.commands "t10-free-$i")
  [ "$q" != "$P" ] && { other=t10-free-$i; break; }
done
redis INCR "baton:{p$P}:epoch" >/dev/null   # a newer owner took partition P
ctl start steps3 --id t10-fenced --input '{}' >/dev/null
ctl start steps3 --id "$other" --input '{}' >/dev/null
ctl result "$other" --wait 60 >/dev/null || fail "partition of $other stopped flowing"
pass "other partitions keep flowing"
sleep 1
[ -z "$(redis GET "baton:{p$P}:wf:t10-fenced")" ] \
  || fail "the fenced instance wrote over the new owner's partition"
grep -q "belongs to another instance" "$TEST_DIR/batond.log" \
  || fail "batond did not report the fenced partition"
kill -0 "$BATOND" || fail "batond died"
pass "the fenced instance wrote nothing in partition $P"
