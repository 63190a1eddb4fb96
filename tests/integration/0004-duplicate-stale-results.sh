#!/usr/bin/env bash
# 0004: duplicate and stale results change nothing; a result whose task id
# lacks the attempt's nonce (guessed) is stale too.  No worker runs: the
# test plays the worker, producing results by hand to baton.results.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
batond_up batond
P=$("$BIN/baton-kafka" partition baton.results t4-1)

result() { # task_id output
  printf '{"task_id":"%s","workflow_id":"t4-1","kind":"COMPLETED","output":%s}' "$1" "$2" \
    | "$BIN/baton-kafka" produce baton.results --partition "$P" --key t4-1 --json
}
pending() { redis GET "baton:{p$P}:wf:t4-1" | /usr/bin/python3 -c \
  'import json,sys; s=json.load(sys.stdin); print(s.get("pseq"), s.get("patt"), s.get("stale",0), s["st"])'; }
current() { # the task id batond sent for the pending attempt (with its nonce)
  redis GET "baton:{p$P}:wf:t4-1" | /usr/bin/python3 -c \
  'import json,sys; s=json.load(sys.stdin); print("t4-1/%d/%d.%s" % (s["pseq"], s["patt"], s["pno"]))'; }
wait_for() { # expected pending line
  for _ in $(seq 1 100); do [ "$(pending 2>/dev/null)" == "$1" ] && return 0; sleep 0.05; done
  fail "state is '$(pending)', expected '$1' (after 5 s)"
}

ctl start steps3 --id t4-1 --input '{}' >/dev/null
wait_for "1 1 0 RUNNING"
FIRST=$(current)
result "$FIRST" '{"v":"first"}'
wait_for "2 1 0 RUNNING"
pass "a current result moves the run on"

result "$FIRST" '{"v":"duplicate"}'     # the same result again
result t4-1/2/7 '{"v":"stale-attempt"}' # an attempt that was never scheduled
result t4-1/9/1 '{"v":"unknown-seq"}'   # an activity that does not exist
result t4-1/2/1 '{"v":"guessed"}'       # the current attempt without its nonce
wait_for "2 1 4 RUNNING"
pass "duplicate and stale results are counted and ignored"

result "$(current)" '{"v":"second"}'
wait_for "3 1 4 RUNNING"
result "$(current)" '{"v":"third"}'
res=$(ctl result t4-1 --wait 30) || fail "run did not complete: $res"
echo "$res"
grep -q first <<<"$res" && grep -q second <<<"$res" && grep -q third <<<"$res" \
  || fail "final state lacks a result: $res"
grep -q 'duplicate\|stale-attempt\|unknown-seq\|guessed' <<<"$res" && fail "a stale result leaked: $res"
c=$(ctl history t4-1 | grep -c ActivityCompleted || true)
assert_eq "$c" 3 "applied results"
# The late duplicate is processed (the stale counter moves) before the
# result is compared again.
stale() { redis GET "baton:{p$P}:wf:t4-1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("stale",0))'; }
s0=$(stale)
assert_eq "$s0" 4 "stale results counted before the late one"
result "$FIRST" '{"v":"after-close"}'
stale_is() { [ "$(stale)" == "$1" ]; }
wait_until 30 "the late duplicate to be counted as stale" stale_is 5
res2=$(ctl result t4-1 --wait 5)
assert_eq "$res2" "$res" "result after a late duplicate"
pass "final state holds exactly the current results"
