#!/usr/bin/env bash
# 0010: fencing with a real stale instance.  batond-a decides a batch for
# workflow t10-fenced and is frozen (SIGSTOP, by the test hook
# BATON_TEST_STOP=before:..., orchestrator/batond.c) just before writing
# it; past its session, batond-b takes every partition over (INCRs their
# epochs), applies the same input and the run completes.  Once b is idle,
# the test records every Redis key of the partition (snapshots, history,
# outbox, offsets, timers, epoch, dedupe) and every message of the task and
# event topics, resumes a (SIGCONT), which writes its stale batch: the
# write must be refused (a logs the fenced partition) and change nothing,
# key by key and message by message.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
BATON_TEST_STOP=before:t10-fenced batond_up batond-a
A=$LAST_PID
worker_up worker
ctl start steps3 --id t10-warm --input '{}' >/dev/null
ctl result t10-warm --wait 60 >/dev/null || fail "warm-up run did not complete"
P=$("$BIN/baton-kafka" partition baton.commands t10-fenced)

state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null; }
is_stopped() { [ "$(state "$1")" == T ]; }
ctl start steps3 --id t10-fenced --input '{}' >/dev/null
wait_until 30 "batond-a stopped before writing t10-fenced" is_stopped "$A"
grep -q "TEST HOOK: stopped before writing t10-fenced (partition $P)" "$TEST_DIR/batond-a.log" \
  || fail "batond-a stopped elsewhere: $(grep 'TEST HOOK' "$TEST_DIR/batond-a.log")"
[ -z "$(redis GET "baton:{p$P}:wf:t10-fenced")" ] || fail "batond-a wrote before its stop"
pass "batond-a frozen with the decided batch of t10-fenced (partition $P) unwritten"

batond_up batond-b
stopped_at=$(date +%s%3N)
wait_until 90 "batond-b takes partition $P" grep -q "took partition $P " "$TEST_DIR/batond-b.log"
echo "batond-b took partition $P $(( $(date +%s%3N) - stopped_at )) ms after it started"
res=$(ctl result t10-fenced --wait 60) || fail "t10-fenced did not complete under batond-b: $res"
pass "batond-b took the partitions over and completed t10-fenced"

dump_keys() { # every key of partition P, type and full content, sorted;
  # not the epoch: when the stale instance rejoins the group, the rebalance
  # has batond-b take its partitions again, a legitimate bump (checked
  # below: batond-a takes none of them)
  local k
  for k in $(redis --scan --pattern "baton:{p$P}:*" | grep -v ':epoch$' | sort); do
    echo "== $k $(redis TYPE "$k")"
    case $(redis TYPE "$k") in
      string) redis GET "$k" ;;
      list) redis LRANGE "$k" 0 -1 ;;
      hash) redis HGETALL "$k" | paste - - | sort ;;
      zset) redis ZRANGE "$k" 0 -1 WITHSCORES | paste - - ;;
      set) redis SMEMBERS "$k" | sort ;;
    esac
  done
}
dump_topics() { # every message of the task and event topics, sorted
  local t
  for t in baton.tasks.default baton.events; do
    "$BIN/baton-kafka" consume "$t" --timeout 3 | paste -d'\t' - - | sed "s/^/$t /" | sort
  done
}
snap() { dump_keys > "$TEST_DIR/keys.$1"; dump_topics > "$TEST_DIR/msgs.$1"; }
idle() { # two snapshots 1 s apart equal: batond-b has nothing left to do
  snap x; sleep 1; snap y
  cmp -s "$TEST_DIR/keys.x" "$TEST_DIR/keys.y" && cmp -s "$TEST_DIR/msgs.x" "$TEST_DIR/msgs.y"
}
wait_until 60 "partition $P and the topics to settle under batond-b" idle
snap before
grep -q '"WorkflowCompleted"' "$TEST_DIR/keys.before" || fail "the snapshot lacks t10-fenced's completion"
echo "before: $(grep -c '^== ' "$TEST_DIR/keys.before") keys, $(count_lines "$TEST_DIR/msgs.before") messages"

kill -CONT "$A"
wait_until 30 "batond-a to resume its write" grep -q "TEST HOOK: resumed" "$TEST_DIR/batond-a.log"
# Its write follows at once: fenced (logged), or not (then the comparison
# below shows what it changed).  Freeze it again after either: what would
# follow is a new, legitimate join.
fenced() { grep -q "partition $P belongs to another instance now" "$TEST_DIR/batond-a.log"; }
for _ in $(seq 1 100); do fenced && break; sleep 0.05; done
kill -STOP "$A"
sleep 1 # anything the stale write might have produced reaches the topics
snap after
diff "$TEST_DIR/keys.before" "$TEST_DIR/keys.after" || fail "the stale instance changed partition $P's keys (diff above)"
diff "$TEST_DIR/msgs.before" "$TEST_DIR/msgs.after" || fail "the stale instance produced messages (diff above)"
fenced || fail "batond-a's stale write was not refused (no fenced partition in its log)"
sed -n '/TEST HOOK: resumed/,$p' "$TEST_DIR/batond-a.log" | grep -q "took partition $P " \
  && fail "batond-a took partition $P again (its epoch bump would not be stale)"
# The stale instance's own exit is not what this test is about (it was
# frozen twice mid-rebalance): it is killed, batond-b is checked as usual.
proc_kill9 "$A"
pass "batond-a resumed and tried to write its stale batch: fenced, no key of partition $P changed, no task or event produced"
