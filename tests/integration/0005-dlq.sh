#!/usr/bin/env bash
# 0005: undecodable messages and invalid commands go to baton.dlq with the
# reason in the baton-error header, and the partition keeps flowing.  A
# signal for a run that does not exist (yet) is held, not dead-lettered
# (docs/bridge.md: it waits batond.signal.hold.ms for its START).
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
batond_up batond
BATOND=$LAST_PID
worker_up worker
P=$("$BIN/baton-kafka" partition baton.commands t5-ok)

printf '\x00\xff garbage, not Avro' | "$BIN/baton-kafka" produce baton.commands --partition "$P"
printf '{"kind":"START","workflow_id":' | "$BIN/baton-kafka" produce baton.commands --partition "$P" --json
printf '{"kind":"START","workflow_id":"t5-x","workflow_type":"no-such-type"}' \
  | "$BIN/baton-kafka" produce baton.commands --key t5-x --json
printf '{"kind":"START","workflow_id":"t5-y","workflow_type":"steps3","payload":"{not json"}' \
  | "$BIN/baton-kafka" produce baton.commands --key t5-y --json
printf '{"kind":"SIGNAL","workflow_id":"t5-ghost","name":"approve"}' \
  | "$BIN/baton-kafka" produce baton.commands --key t5-ghost --json
printf '\x02\x04' | "$BIN/baton-kafka" produce baton.results --partition "$P"
# A valid workflow in the same partition, after the bad input.
ctl start steps3 --id t5-ok --input '{}' >/dev/null
ctl result t5-ok --wait 60 >/dev/null || fail "the partition stopped flowing"
pass "a valid workflow behind bad input completes"

dlq=$("$BIN/baton-kafka" consume baton.dlq --count 5 --timeout 20) \
  || fail "expected 5 DLQ messages, got: $dlq"
echo "$dlq" | grep -o 'baton-error=[^ ]*.\{0,80\}'
grep -q 't5-ghost' <<<"$dlq" && fail "the signal for a run not started yet went to the DLQ"
st=$(ctl describe t5-ghost -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
assert_eq "$st" HELD "status of a run that only has a signal waiting for its START"
for reason in 'baton.commands\[' 'no-such-type' 'not valid JSON\|not JSON' 'baton.results\['; do
  grep -q "$reason" <<<"$dlq" || fail "no DLQ reason matching '$reason'"
done
kill -0 "$BATOND" || fail "batond died"
pass "bad input is in the DLQ with its reason; batond is alive"
