#!/usr/bin/env bash
# 0125: payload encryption end to end (common/crypt.h, docs/security.md
# "Payload encryption").  With a key file (crypt.keys.dir), a run whose
# START input, Task input and output (one of them above the claim-check
# threshold, so blobs too) and signal payload all hold a marker string
# completes with the right output, while no message of any Baton topic and
# no value of any Redis key holds the marker; batonctl shows the plaintext
# with the key and fails naming the key id without it, with a missing key
# or with a wrong one.  Rotation: a second key made active; a run started
# under the first finishes, a new one is sealed with the second.
source "$(dirname "$0")/lib.sh"
MARK="m4rk3r-$RANDOM$RANDOM-plain"
KEYS=$TEST_DIR/keys
mkdir -p "$KEYS" "$TEST_DIR/wf"
head -c 32 /dev/urandom >"$KEYS/k1.key"
chmod 0400 "$KEYS/k1.key" # else each process warns that others may read it
# The key's hex must never show in a file of the stack (logs included).
STACK_SECRETS=$(od -An -tx1 "$KEYS/k1.key" | tr -d ' \n')
export STACK_SECRETS
cat >"$TEST_DIR/wf/sealed.asl.json" <<'JSON'
{
  "StartAt": "Echo",
  "States": {
    "Echo": { "Type": "Task", "Resource": "baton:activity:default/echo",
              "Parameters": { "note.$": "$.note", "big.$": "$.big" },
              "ResultPath": "$.echoed", "Next": "Wait" },
    "Wait": { "Type": "Task", "Resource": "baton:signal:approve",
              "ResultPath": "$.approval", "Next": "Done" },
    "Done": { "Type": "Succeed" }
  }
}
JSON
export WORKFLOWS_DIR=$TEST_DIR/wf
stack_up "$TEST_DIR" 2 default
conf() { # conf FILE ACTIVE: a config with the keys folder and active key
  printf 'crypt.keys.dir = %s\ncrypt.active.key = %s\nblob.threshold = 4096\n' "$KEYS" "$2" >"$1"
}
conf "$TEST_DIR/k1.conf" k1
worker_up worker --config "$TEST_DIR/k1.conf" --concurrency 2
WPID=$LAST_PID
batond_up batond --config "$TEST_DIR/k1.conf"
BPID=$LAST_PID
kctl() { ctl -X "crypt.keys.dir=$KEYS" "$@"; }

BIG=$(/usr/bin/python3 -c "import sys; print((sys.argv[1]+' ')*400)" "$MARK")
/usr/bin/python3 -c 'import json,sys; print(json.dumps({"note": sys.argv[1]+"-start", "big": sys.argv[2]}))' \
  "$MARK" "$BIG" >"$TEST_DIR/input.json"
kctl start sealed --id t125 --input "$(cat "$TEST_DIR/input.json")" >/dev/null
waits() { # waits ID CTL...: run ID waits for signal approve
  local id=$1; shift
  "$@" describe "$id" -o json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
sys.exit(0 if "approve" in json.dumps(json.load(sys.stdin).get("pending")) else 1)'
}
wait_until 60 "t125 to wait for its signal" waits t125 kctl
kctl signal t125 approve --payload "{\"who\":\"$MARK-signal\"}" >/dev/null
kctl result t125 --wait 60 -o json >"$TEST_DIR/result.out"
/usr/bin/python3 - "$TEST_DIR/result.out" "$MARK" "$BIG" <<'PY' || fail "the run's output"
import json, sys
r = json.load(open(sys.argv[1])); mark, big = sys.argv[2], sys.argv[3]
o = r.get("output", r)
assert r.get("status", "SUCCEEDED") == "SUCCEEDED", r.get("status")
assert o["echoed"]["note"] == mark + "-start", o["echoed"]
assert o["echoed"]["big"] == big, "big payload changed"
assert o["approval"]["who"] == mark + "-signal", o["approval"]
PY
pass "the run completes with the plaintext output (START input, task in and out, large payload, signal)"

# Every message of every Baton topic, every value of every Redis key.
dump_all() {
  local out=$1 t k
  : >"$out"
  for t in baton.commands baton.results baton.events baton.dlq baton.cancels baton.tasks.default; do
    "$BIN/baton-kafka" consume "$t" --timeout 3 >>"$out" 2>/dev/null || true
  done
  redis --scan --pattern '*' >"$out.keys"
  while read -r k; do
    echo "KEY $k" >>"$out"
    case $(redis TYPE "$k") in
    string) redis GET "$k" ;;
    list) redis LRANGE "$k" 0 -1 ;;
    hash) redis HGETALL "$k" ;;
    set) redis SMEMBERS "$k" ;;
    zset) redis ZRANGE "$k" 0 -1 WITHSCORES ;;
    stream) redis XRANGE "$k" - + ;;
    esac >>"$out"
  done <"$out.keys"
}
dump_all "$TEST_DIR/dump1"
nmsg=$(grep -c . "$TEST_DIR/dump1")
nblob=$(grep -c ':blob:' "$TEST_DIR/dump1.keys" || true)
nenc=$(grep -o '\$baton_enc' "$TEST_DIR/dump1" | wc -l)
echo "dump: $nmsg lines, $(wc -l <"$TEST_DIR/dump1.keys") keys ($nblob blobs), $nenc sealed values"
[ "$nblob" -ge 1 ] || fail "no blob: the large payload did not go through the claim check"
[ "$nenc" -ge 10 ] || fail "only $nenc sealed values in Kafka and Redis"
grep -q 'v1:k1:' "$TEST_DIR/dump1" || fail "no value sealed with key k1"
if grep -n "$MARK" "$TEST_DIR/dump1" | cut -c1-200 >&2; then
  fail "the marker is in clear in Kafka or Redis (above)"
fi
pass "no plaintext of the marked input in any topic or Redis key ($nenc sealed values)"

kctl history t125 -o json | grep -q "$MARK-signal" || fail "history with the key does not show the payload"
kctl describe t125 -o json | grep -q "$MARK-start" || fail "describe with the key does not show the state"
pass "describe and history show the plaintext with the key"

# Without the key, with the key missing, with a wrong key: a clear error.
expect_err() { # expect_err WHAT PATTERN CMD...
  local what=$1 pat=$2 rc=0; shift 2
  "$@" >"$TEST_DIR/err.out" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "$what: exit status $rc"
  grep -q "$pat" "$TEST_DIR/err.out" || { cat "$TEST_DIR/err.out" >&2; fail "$what: no '$pat' in the error"; }
  ! grep -q "$MARK" "$TEST_DIR/err.out" || fail "$what: plaintext in the error"
}
expect_err "describe without keys" "key 'k1'" ctl describe t125
expect_err "result without keys" "key 'k1'" ctl result t125
expect_err "history without keys" "key 'k1'" ctl history t125
mkdir -p "$TEST_DIR/other" "$TEST_DIR/wrong"
head -c 32 /dev/urandom >"$TEST_DIR/other/k9.key"
expect_err "describe with k1 missing" "key 'k1', which is not among" \
  ctl -X "crypt.keys.dir=$TEST_DIR/other" describe t125
head -c 32 /dev/urandom >"$TEST_DIR/wrong/k1.key"
expect_err "describe with a wrong k1" "does not authenticate with key 'k1'" \
  ctl -X "crypt.keys.dir=$TEST_DIR/wrong" describe t125
expect_err "history with a wrong k1" "key 'k1'" \
  ctl -X "crypt.keys.dir=$TEST_DIR/wrong" history t125
ctl list -o json | grep -q '"ENCRYPTED"' || fail "list without keys does not say ENCRYPTED"
pass "without the key, a missing or a wrong one: errors name key k1 (list: ENCRYPTED)"

# Rotation: t125b starts under k1 and waits; k2 becomes active; it finishes,
# and t125c is sealed with k2.
kctl start sealed --id t125b --input "{\"note\":\"$MARK-b\",\"big\":\"x\"}" >/dev/null
wait_until 60 "t125b to wait for its signal" waits t125b kctl
p=$("$BIN/baton-kafka" partition baton.commands t125b)
redis GET "baton:{p$p}:wf:t125b" | grep -q 'v1:k1:' || fail "t125b not sealed with k1"
head -c 32 /dev/urandom >"$KEYS/k2.key"
chmod 0400 "$KEYS/k2.key"
STACK_SECRETS=$(printf '%s\n%s' "$STACK_SECRETS" "$(od -An -tx1 "$KEYS/k2.key" | tr -d ' \n')")
export STACK_SECRETS
conf "$TEST_DIR/k2.conf" k2
proc_stop "$BPID" || fail "batond did not stop cleanly"
proc_stop "$WPID" || fail "the worker did not stop cleanly"
worker_up worker-k2 --config "$TEST_DIR/k2.conf" --concurrency 2
batond_up batond-k2 --config "$TEST_DIR/k2.conf"
k2ctl() { ctl -X "crypt.keys.dir=$KEYS" -X crypt.active.key=k2 "$@"; }
k2ctl signal t125b approve --payload "{\"who\":\"$MARK-b2\"}" >/dev/null
k2ctl result t125b --wait 60 -o json | grep -q "$MARK-b2" || fail "t125b did not finish after the rotation"
k2ctl start sealed --id t125c --input "{\"note\":\"$MARK-c\",\"big\":\"y\"}" >/dev/null
wait_until 60 "t125c to wait for its signal" waits t125c k2ctl
p=$("$BIN/baton-kafka" partition baton.commands t125c)
redis GET "baton:{p$p}:wf:t125c" | grep -q 'v1:k2:' || fail "t125c not sealed with k2"
k2ctl describe t125 -o json | grep -q "$MARK-start" || fail "t125 (k1) no longer readable after the rotation"
mkdir -p "$TEST_DIR/onlyk2"
cp "$KEYS/k2.key" "$TEST_DIR/onlyk2/"
ctl -X "crypt.keys.dir=$TEST_DIR/onlyk2" result t125b | grep -q "$MARK-b2" ||
  fail "t125b (sealed again with k2 at its last write) unreadable with k2 alone"
expect_err "t125 (k1) with only k2" "key 'k1', which is not among" \
  ctl -X "crypt.keys.dir=$TEST_DIR/onlyk2" result t125
pass "rotation: a run started under k1 finishes under k2, new runs use k2, k1 data stays readable"

# batond without the key a command was sealed with: the DLQ, naming it.
ctl -X "crypt.keys.dir=$TEST_DIR/other" start sealed --id t125d \
  --input "{\"note\":\"$MARK-d\",\"big\":\"z\"}" >/dev/null
in_dlq() { "$BIN/baton-kafka" consume baton.dlq --timeout 2 | grep -q "t125d.*key 'k9'"; }
wait_until 60 "the START sealed with k9 to reach the DLQ with its reason" in_dlq
kill -0 "$LAST_PID" || fail "batond died on a command it cannot decrypt"
pass "batond sends a command sealed with a key it lacks to the DLQ, naming key k9"

dump_all "$TEST_DIR/dump2"
if grep -n "$MARK" "$TEST_DIR/dump2" | cut -c1-200 >&2; then
  fail "after the rotation, the marker is in clear in Kafka or Redis (above)"
fi
pass "after the rotation still no plaintext in Kafka or Redis"
rm -f "$TEST_DIR"/result.out "$TEST_DIR"/err.out "$TEST_DIR"/input.json
