#!/usr/bin/env bash
# 0115: batonctl worker-check QUEUE (client/client_conformance.c) passes on
# the three example workers -- the C example (activities/examples/
# example_worker.c, Avro tasks), the Python and the Node.js examples (JSON
# tasks) -- and fails, naming the case, on deliberately broken copies of the
# Python worker: one that drops the retry hint, one that never heartbeats.
# Each case is a real run of baton.conformance.<QUEUE> through batond
# (definitions written by `batonctl worker-check QUEUE --definition`).
source "$(dirname "$0")/lib.sh"
node_worker_deps

export WORKFLOWS_DIR=$TEST_DIR/wf
mkdir -p "$WORKFLOWS_DIR"
for q in cq py node pyhint pyhb; do
  "$BIN/batonctl" worker-check "$q" --definition >"$WORKFLOWS_DIR/baton.conformance.$q.asl.json"
done
"$BIN/batonctl" validate "$WORKFLOWS_DIR"/*.asl.json >/dev/null

# The broken copies: each removes one thing from the Python example (the
# sed must change the file, or the copy would not be broken).
W=activities/examples/python/worker.py
sed 's/retry_after_ms=err.retry_after_ms,//' "$W" >"$TEST_DIR/nohint.py"
sed 's/^\(    def heartbeat_if_due(self, last):\)$/\1\n        return last  # broken on purpose/' "$W" >"$TEST_DIR/nohb.py"
! cmp -s "$W" "$TEST_DIR/nohint.py" || fail "the no-hint copy is not broken"
! cmp -s "$W" "$TEST_DIR/nohb.py" || fail "the no-heartbeat copy is not broken"

stack_up "$TEST_DIR" 2 cq,py,node,pyhint,pyhb
batond_up batond --set batond.tasks.json.queues=py,node,pyhint,pyhb
_bg cw "$BIN/baton-worker-example" --config "$BATON_STACK_FILE" --queue cq
_bg py /usr/bin/python3 -u "$W" py
_bg pyhint /usr/bin/python3 -u "$TEST_DIR/nohint.py" pyhint
_bg pyhb /usr/bin/python3 -u "$TEST_DIR/nohb.py" pyhb
[ $have_node = 1 ] && _bg node env NODE_PATH="$NODE_DIR/node_modules" node activities/examples/node/worker.js node
for n in py pyhint pyhb; do wait_until 30 "worker $n ready" grep -q ready "$TEST_DIR/$n.log"; done
[ $have_node = 1 ] && wait_until 30 "worker node ready" grep -q ready "$TEST_DIR/node.log"
sleep 3 # every worker joins its group

check() { # QUEUE: runs worker-check, output in $TEST_DIR/check-QUEUE.txt
  local rc=0
  ctl worker-check "$1" >"$TEST_DIR/check-$1.txt" 2>&1 || rc=$?
  sed "s/^/# $1: /" "$TEST_DIR/check-$1.txt"
  return $rc
}
for q in cq py $([ $have_node = 1 ] && echo node); do
  check "$q" || fail "worker-check $q failed"
  assert_eq "$(grep -c '^ok ' "$TEST_DIR/check-$q.txt")" 6 "cases passed on $q"
  pass "worker-check passes on the $q example worker"
done

# -o json: the same verdicts, machine-readable
out=$(ctl -o json worker-check cq)
assert_eq "$(json_get "$out" failed)" 0 "failed cases in -o json"
assert_eq "$(json_get "$out" passed)" 6 "passed cases in -o json"
pass "worker-check -o json"

rc=0; check pyhint || rc=$?
assert_eq "$rc" 1 "exit status on a worker that drops the retry hint"
grep -q '^FAIL retry_hint .*retry_after_ms 0' "$TEST_DIR/check-pyhint.txt" || fail "retry_hint not reported failed"
assert_eq "$(grep -c '^FAIL' "$TEST_DIR/check-pyhint.txt")" 1 "failed cases of the no-hint worker"
pass "worker-check fails a worker that drops the retry hint, on that case only"

rc=0; check pyhb || rc=$?
assert_eq "$rc" 1 "exit status on a worker that never heartbeats"
grep -q '^FAIL heartbeat ' "$TEST_DIR/check-pyhb.txt" || fail "heartbeat not reported failed"
grep -q '^ok   succeed' "$TEST_DIR/check-pyhb.txt" || fail "succeed should pass without heartbeats"
pass "worker-check fails a worker that never heartbeats"

rc=0; ctl worker-check 'bad:queue' >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 1 "exit status for an invalid queue name"
