#!/usr/bin/env bash
# 0034: `batonctl dlq` lists what batond dead-lettered (source, key, reason,
# an escaped prefix of the value, never raw bytes) and `batonctl dlq replay
# P:O` re-produces a record to its source topic: a START for a workflow
# type batond did not know yet runs to completion once batond is restarted
# with that type; a record whose value was cut to a prefix is refused; a
# baton-bridge record shows its trigger and source headers and replays
# with its original headers only.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
WORKFLOWS_DIR="$TEST_DIR/workflows"
export WORKFLOWS_DIR
cp -r config/workflows "$WORKFLOWS_DIR"
batond_up batond --set batond.limits.dlq.copy.max=200
BATOND=$LAST_PID
worker_up worker

count_dlq() {
  ctl dlq -o json | wc -l
}

# 1. Three inputs batond cannot apply: a START for a type it does not know
#    (small, kept whole), the same with a 600-byte payload (cut to 200
#    bytes), and bytes that are not an envelope at all.
printf '{"kind":"START","workflow_id":"t34-a","workflow_type":"t34type","payload":"{\\"n\\":1}"}' \
  | "$BIN/baton-kafka" produce baton.commands --key t34-a --json
pad=$(head -c 600 /dev/zero | tr '\0' x)
printf '{"kind":"START","workflow_id":"t34-big","workflow_type":"t34type","payload":"{\\"pad\\":\\"%s\\"}"}' "$pad" \
  | "$BIN/baton-kafka" produce baton.commands --key t34-big --json
printf '\x00\xff\x01 not an envelope\n' | "$BIN/baton-kafka" produce baton.commands --partition 0

for i in $(seq 1 60); do
  [ "$(count_dlq)" -ge 3 ] && break
  sleep 0.5
done
assert_eq "$(count_dlq)" 3 "DLQ records"
pass "three inputs dead-lettered"

# 2. The listing: the START's record with its source and reason.
json=$(ctl dlq -o json)
rec_a=$(grep '"key":"t34-a"' <<<"$json") || fail "no DLQ record keyed t34-a in: $json"
P_SRC=$("$BIN/baton-kafka" partition baton.commands t34-a)
assert_eq "$(json_get "$rec_a" source_topic)" baton.commands "source topic"
assert_eq "$(json_get "$rec_a" source_partition)" "$P_SRC" "source partition"
grep -q "unknown workflow type 't34type'" <<<"$(json_get "$rec_a" reason)" \
  || fail "reason of t34-a: $(json_get "$rec_a" reason)"
assert_eq "$(json_get "$rec_a" cut)" False "t34-a kept whole"
val=$(json_get "$rec_a" value | base64 -d)
grep -q '"workflow_id":"t34-a"' <<<"$val" || fail "value of t34-a not the original: $val"
rec_big=$(grep '"key":"t34-big"' <<<"$json") || fail "no DLQ record keyed t34-big"
assert_eq "$(json_get "$rec_big" cut)" True "t34-big cut"
assert_eq "$(json_get "$rec_big" value_size)" 200 "t34-big's value size"
text=$(ctl dlq)
echo "$text"
grep -q "^reason: *baton.commands\[$P_SRC\]@[0-9]*: .*unknown workflow type 't34type'" <<<"$text" \
  || fail "text listing has no reason line for t34-a"
grep -q '^value: *\\x00\\xff\\x01 not an envelope\\n$' <<<"$text" \
  || fail "the binary value is not shown escaped"
LC_ALL=C grep -q $'\xff' <<<"$text" && fail "raw binary printed"
pass "batonctl dlq lists source, key, reason and an escaped value"

# 3. Replay after batond learns the type.
proc_stop "$BATOND" || fail "batond did not stop cleanly"
cp config/workflows/steps3.asl.json "$WORKFLOWS_DIR/t34type.asl.json"
batond_up batond2 --set batond.limits.dlq.copy.max=200
BATOND=$LAST_PID
pos_a="$(json_get "$rec_a" partition):$(json_get "$rec_a" offset)"
out=$(ctl dlq replay "$pos_a") || fail "replay of $pos_a failed: $out"
echo "$out"
grep -q "to baton.commands \[$P_SRC\]" <<<"$out" || fail "replay did not say where it went: $out"
ctl result t34-a --wait 60 >/dev/null || fail "the replayed START did not complete"
st=$(ctl describe t34-a -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
assert_eq "$st" SUCCEEDED "status of the replayed run"
pass "a replayed START runs to completion"

# 4. A cut record is refused, and nothing is sent.
pos_big="$(json_get "$rec_big" partition):$(json_get "$rec_big" offset)"
rc=0
err=$(ctl dlq replay "$pos_big" 2>&1) || rc=$?
assert_eq "$rc" 1 "exit status of replaying a cut record"
grep -q "value was cut" <<<"$err" || fail "no clear message for a cut record: $err"
rc=0
ctl dlq replay nonsense 2>/dev/null || rc=$?
assert_eq "$rc" 2 "exit status of a malformed position"
sleep 2
ctl describe t34-big -o json 2>/dev/null | grep -q '"status"' \
  && fail "the cut START was sent anyway"
assert_eq "$(count_dlq)" 3 "DLQ records after the replays"
pass "a cut record is refused with a clear message"

# 5. A record shaped as baton-bridge writes them (bridge/loop.c to_dlq).
printf 't34-bridge-value' | "$BIN/baton-kafka" produce baton.dlq --key src-key \
  --header "baton-error=mapping failed: no id" --header baton-trigger=orders \
  --header baton-source-topic=shop.orders --header baton-source-partition=2 \
  --header baton-source-offset=41 --header x-orig=1
rec_br=$(ctl dlq -o json | grep '"trigger":"orders"') || fail "no bridge record listed"
assert_eq "$(json_get "$rec_br" source_topic)" shop.orders "bridge source topic"
assert_eq "$(json_get "$rec_br" source_partition)" 2 "bridge source partition"
assert_eq "$(json_get "$rec_br" source_offset)" 41 "bridge source offset"
ctl dlq | grep -q '^trigger: *orders$' || fail "text listing has no trigger line"
pos_br="$(json_get "$rec_br" partition):$(json_get "$rec_br" offset)"
out=$(ctl dlq replay "$pos_br" --to baton.events) || fail "replay --to failed: $out"
grep -q "to baton.events \[" <<<"$out" || fail "replay --to did not say where: $out"
ev=$("$BIN/baton-kafka" consume baton.events --timeout 5 || true)
line=$(grep -A1 '^[0-9]* [0-9]* src-key ' <<<"$ev") || fail "replayed record not on baton.events"
grep -q ' x-orig=1' <<<"$line" || fail "original header lost: $line"
grep -q 'baton-trigger\|baton-error\|baton-source' <<<"$line" && fail "DLQ headers replayed: $line"
grep -q '^t34-bridge-value$' <<<"$line" || fail "value not replayed: $line"
kill -0 "$BATOND" || fail "batond died"
pass "a bridge record lists its trigger and replays with its original headers"
