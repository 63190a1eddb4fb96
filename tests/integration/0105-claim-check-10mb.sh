#!/usr/bin/env bash
# 0105: the claim check end to end (common/blob.h, docs/failure-model.md
# "Limits").  A tool returns a 10 MB result (blob.make) and the next step
# reads all of it (blob.check): the run completes with the right output
# (the data and its SHA-256 as both steps saw them, the second handler
# given plain JSON), while every task and result message on Kafka stayed
# small (references, not copies) and the snapshot in Redis too; `batonctl
# describe` and `result` show the resolved state.  A user value that looks
# like a reference comes back as it was (escaped).  After the run closes
# its blobs expire per blob.retention.s, and none is left held.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 4 default
CONF=$TEST_DIR/blob.conf
cat >"$CONF" <<'CONF'
blob.retention.s = 45
batond.history.ttl.s = 45
CONF
worker_up worker --config "$CONF" --concurrency 2
batond_up batond-0 --config "$CONF"
BYTES=10485760
FAKE='{"$baton_ref":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":3}'
ctl start large-result --id t105 \
  --input "{\"bytes\":$BYTES,\"seed\":\"claim check \",\"fake\":$FAKE}" >/dev/null
ctl result t105 --wait 180 >"$TEST_DIR/result.json"
want=$(/usr/bin/python3 -c '
import hashlib; n=10485760; s=("claim check "*(n//12+1))[:n]
print(hashlib.sha256(s.encode()).hexdigest())')
py() { local f=$1 e=$2; shift 2; /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(json.dumps($e))" "$f" "$@"; }
assert_eq "$(py "$TEST_DIR/result.json" '[len(j["made"]["data"]), j["made"]["bytes"], j["checked"]["bytes"], j["checked"]["plain"]]')" \
  "[$BYTES, $BYTES, $BYTES, true]" "sizes as both steps saw them"
assert_eq "$(py "$TEST_DIR/result.json" '[j["made"]["sha256"], j["checked"]["sha256"]]')" \
  "[\"$want\", \"$want\"]" "SHA-256 of the data"
assert_eq "$(py "$TEST_DIR/result.json" 'j["made"]["data"][:24]')" '"claim check claim check "' "data"
assert_eq "$(py "$TEST_DIR/result.json" 'j["fake"] == json.loads(sys.argv[2])' "$FAKE")" true \
  "a look-alike reference comes back as it was"
pass "a 10 MB tool result goes through two steps; the run's output is right"

p=$("$BIN/baton-kafka" partition baton.commands t105)
snap=$(redis STRLEN "baton:{p$p}:wf:t105")
echo "snapshot in Redis: $snap bytes"
[ "$snap" -lt 16384 ] || fail "the snapshot holds $snap bytes: not by reference"
pass "the snapshot in Redis stayed small (references)"

# Retention: closed, the run holds no blob; each expires blob.retention.s later.
blobs=$(redis --scan --pattern "baton:{p$p}:blob:*" | wc -l)
[ "$blobs" -ge 1 ] || fail "no blob in Redis"
assert_eq "$(redis HLEN "baton:{p$p}:blobrc")" 0 "blobs still held after the close"
assert_eq "$(redis EXISTS "baton:{p$p}:blobs:t105")" 0 "the run's blob set after the close"
for k in $(redis --scan --pattern "baton:{p$p}:blob:*"); do
  ttl=$(redis TTL "$k")
  [ "$ttl" -gt 0 ] && [ "$ttl" -le 45 ] || fail "$k: TTL $ttl after the close, expected 1..45"
done
pass "closed: the run holds no blob, each of its $blobs blobs expires in blob.retention.s"

ctl describe t105 -o json >"$TEST_DIR/describe.json"
assert_eq "$(/usr/bin/python3 -c '
import json,sys
t=open(sys.argv[1]).read(); j=json.loads(t)
print(json.dumps([t.count("sha256:") == t.count("sha256:0000000000"), len(t) > 10485760]))' "$TEST_DIR/describe.json")" \
  "[true, true]" "describe shows the resolved state"
ctl history t105 -o json >"$TEST_DIR/history.json"
/usr/bin/python3 -c '
import json,sys
t=open(sys.argv[1]).read(); json.loads(t)
assert t.count("sha256:")==t.count("sha256:0000"), "an unresolved reference in the history"' "$TEST_DIR/history.json" \
  || fail "history shows references"
pass "describe and history show the resolved state"

# Every message on the task and result topics stayed small.
for t in baton.tasks.default baton.results baton.events; do
  "$BIN/baton-kafka" consume "$t" --sizes --timeout 5 >"$TEST_DIR/sizes-$t"
  n=$(wc -l <"$TEST_DIR/sizes-$t")
  max=$(awk 'BEGIN{m=0} {if ($3>m) m=$3} END{print m}' "$TEST_DIR/sizes-$t")
  echo "$t: $n messages, largest $max bytes"
  [ "$n" -ge 2 ] || fail "$t: expected at least 2 messages, got $n"
  [ "$max" -lt 16384 ] || fail "$t: a message of $max bytes: the payload was not sent by reference"
done
pass "task, result and event messages stayed small (references)"

gone() { [ "$(redis --scan --pattern "baton:{p$p}:blob:*" | wc -l)" -eq 0 ]; }
wait_until 120 "the blobs of the closed run to expire" gone
pass "the blobs expired after the close (retention 45 s)"
