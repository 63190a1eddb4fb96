#!/usr/bin/env bash
# 0051: two deployments share one Kafka and one Redis without seeing or
# corrupting each other's runs.  Deployment A uses the defaults (topics
# baton.*, Redis keys baton:*), deployment B sets topic.prefix = team-b
# (topics team-b.*, Redis keys team-b:*, its own batond group); each has a
# batond and a worker, and both run the SAME workflow ids at once with
# different inputs.  Before namespaces both wrote baton:{pN}:*: B's START of
# an id A owned was a duplicate, and the two batonds fenced each other's
# partitions (one epoch key).  Checked: every run completes in both, each
# result holds its own deployment's input, each history has one
# completion, keys, epochs and batonctl listings stay apart.
source "$(dirname "$0")/lib.sh"
DEVSTACK_ARGS="--extra-prefixes team-b" stack_up "$TEST_DIR" 4 default
printf 'topic.prefix = team-b\nbatond.group = team-b.batond\n' > "$TEST_DIR/b.conf"

batond_up batond-a
A=$LAST_PID
worker_up worker-a --concurrency 8
_bg batond-b env BATON_CONFIG="$TEST_DIR/b.conf" "$BIN/batond" --workflows config/workflows
B=$LAST_PID
_bg worker-b env BATON_CONFIG="$TEST_DIR/b.conf" "$BIN/baton-test-worker" --concurrency 8

N=30
"$BIN/baton-bench" --workflows $N --type steps3 --concurrency 10 --id-prefix ns \
    --input '{"who":"a"}' --timeout 180 --json > "$TEST_DIR/bench-a.out" 2>"$TEST_DIR/bench-a.log" &
PA=$!
BATON_CONFIG="$TEST_DIR/b.conf" "$BIN/baton-bench" --workflows $N --type steps3 \
    --concurrency 10 --id-prefix ns --input '{"who":"b"}' --timeout 180 --json \
    > "$TEST_DIR/bench-b.out" 2>"$TEST_DIR/bench-b.log" &
PB=$!
wait $PA || fail "bench A: $(cat "$TEST_DIR/bench-a.out" "$TEST_DIR/bench-a.log" | tail -5)"
wait $PB || fail "bench B: $(cat "$TEST_DIR/bench-b.out" "$TEST_DIR/bench-b.log" | tail -5)"
for d in a b; do
  out=$(cat "$TEST_DIR/bench-$d.out")
  assert_eq "$(json_get "$out" completed)" $N "deployment $d: completed"
  assert_eq "$(json_get "$out" double_completions)" 0 "deployment $d: double completions"
done
pass "the same $N workflow ids complete in both deployments"

# Each deployment's result holds its own input.
for i in 0 7 $((N-1)); do
  ra=$(ctl result ns-$i --wait 5)
  rb=$(BATON_CONFIG="$TEST_DIR/b.conf" ctl result ns-$i --wait 5)
  echo "$ra" | grep -q '"who": *"a"' || fail "A's ns-$i result: $ra"
  echo "$rb" | grep -q '"who": *"b"' || fail "B's ns-$i result: $rb"
done
pass "results are each deployment's own"

# Redis: keys and fencing tokens stay apart; one completion per history.
assert_eq "$(redis --scan --pattern 'baton:{p*}:wf:ns-*' | wc -l)" $N "A's snapshots"
assert_eq "$(redis --scan --pattern 'team-b:{p*}:wf:ns-*' | wc -l)" $N "B's snapshots"
assert_eq "$(redis --scan --pattern 'baton:{p*}:epoch' | wc -l)" 4 "A's epochs"
assert_eq "$(redis --scan --pattern 'team-b:{p*}:epoch' | wc -l)" 4 "B's epochs"
assert_eq "$(redis --scan --pattern 'team-b:defs:*' | grep -c steps3)" 1 "B's definitions"
for ns in baton team-b; do
  for key in $(redis --scan --pattern "$ns:{p*}:hist:ns-*"); do
    c=$(redis LRANGE "$key" 0 -1 | grep -c '"WorkflowCompleted"' || true)
    [ "$c" == 1 ] || fail "$key has $c completion events"
  done
done
grep -q FENCED "$TEST_DIR/batond-a.log" "$TEST_DIR/batond-b.log" \
  && fail "a batond was fenced by the other deployment"
pass "keys, epochs and histories are per namespace; no fencing across deployments"

la=$(ctl list -o json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
lb=$(BATON_CONFIG="$TEST_DIR/b.conf" ctl list -o json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
assert_eq "$la" $N "batonctl list in A"
assert_eq "$lb" $N "batonctl list in B"
pass "batonctl sees only its own deployment"

proc_stop "$A" || fail "batond A exit"
proc_stop "$B" || fail "batond B exit"
