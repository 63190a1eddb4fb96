#!/usr/bin/env bash
# 0110: baton-bridge's format avro against a Schema Registry (the test's
# own loopback registry, tests/integration/avro/registry.py: Confluent's
# REST subset, with basic auth whose password reaches the bridge only
# through BATON_SCHEMA_REGISTRY_PASSWORD_FILE).  Events in the Schema
# Registry wire format, with the schema named by header (id, subject) and
# in Avro single-object encoding (schema file named in the trigger) start
# runs whose inputs hold the decoded values (records, enums, unions,
# arrays, maps, bytes, doubles); the registry is asked once per schema id
# (the cache); an unknown schema id, a wrong magic byte and truncated Avro
# go to baton.dlq with their reasons; with the registry down a cached id
# still decodes, an uncached one goes to the DLQ once the wait is over
# ("registry unreachable"), and one whose registry comes back within the
# wait is decoded.  No log holds the registry password.
source "$(dirname "$0")/lib.sh"
HERE=tests/integration/avro
stack_up "$TEST_DIR" 4 default
BOOT=$(sed -n 's/^kafka.bootstrap.servers *= *//p' "$BATON_STACK_FILE")
KT="$BIN/baton-kafka"

# a workflow that ends at once with its input
mkdir -p "$TEST_DIR/workflows" "$TEST_DIR/triggers"
cat > "$TEST_DIR/workflows/avro-echo.asl.json" <<'EOC'
{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}
EOC
WORKFLOWS_DIR="$TEST_DIR/workflows" batond_up batond

# the registry, with basic auth
REG_PW="sr-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$REG_PW" > "$TEST_DIR/registry-password.secret"
STACK_SECRETS="$REG_PW"
export STACK_SECRETS
registry_up() {
  rm -f "$TEST_DIR/registry.port"
  _bg "$1" /usr/bin/python3 "$HERE/registry.py" --state "$TEST_DIR/registry.json" \
    --log "$TEST_DIR/registry-requests.txt" --port-file "$TEST_DIR/registry.port" \
    --port "${REG_PORT:-0}" --user bridge --password-file "$TEST_DIR/registry-password.secret"
  REGISTRY=$LAST_PID
  wait_until 20 "the registry to listen" test -s "$TEST_DIR/registry.port"
  REG_PORT=$(cat "$TEST_DIR/registry.port")
}
registry_up registry
REG="http://127.0.0.1:$REG_PORT"

# the schema: every type the walk maps, and its canonical form by hand
cat > "$TEST_DIR/triggers/order.avsc" <<'EOC'
{"type": "record", "name": "OrderCreated", "namespace": "shop.avro",
 "doc": "an order", "fields": [
  {"name": "orderId", "type": "string"},
  {"name": "amount", "type": "long"},
  {"name": "price", "type": "double"},
  {"name": "coupon", "type": ["null", "string"], "default": null},
  {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
  {"name": "tags", "type": {"type": "array", "items": "string"}},
  {"name": "attrs", "type": {"type": "map", "values": "int"}},
  {"name": "raw", "type": "bytes"},
  {"name": "createdAt", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}
EOC
printf '%s\n' '{"name":"shop.avro.OrderCreated","type":"record","fields":[{"name":"orderId","type":"string"},{"name":"amount","type":"long"},{"name":"price","type":"double"},{"name":"coupon","type":["null","string"]},{"name":"status","type":{"name":"shop.avro.Status","type":"enum","symbols":["NEW","PAID"]}},{"name":"tags","type":{"type":"array","items":"string"}},{"name":"attrs","type":{"type":"map","values":"int"}},{"name":"raw","type":"bytes"},{"name":"createdAt","type":"long"}]}' \
  > "$TEST_DIR/order.pcf"
# a second schema (version 2 of the subject: a field more), a third and
# a fourth
python3 - "$TEST_DIR" <<'EOC'
import json, sys
d = sys.argv[1]
s = json.load(open(d + "/triggers/order.avsc"))
s["fields"].append({"name": "channel", "type": "string", "default": "web"})
json.dump(s, open(d + "/order-v2.avsc", "w"))
s["fields"].append({"name": "region", "type": "string", "default": "eu"})
json.dump(s, open(d + "/order-v3.avsc", "w"))
s["fields"].append({"name": "zone", "type": "int", "default": 0})
json.dump(s, open(d + "/order-v4.avsc", "w"))
EOC
register() { # SUBJECT FILE -> id
  curl -sf -u "bridge:$REG_PW" -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data "$(python3 -c 'import json,sys; print(json.dumps({"schema": open(sys.argv[1]).read()}))' "$2")" \
    "$REG/subjects/$1/versions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
ID1=$(register avro.orders-value "$TEST_DIR/triggers/order.avsc")
ID2=$(register avro.orders-value "$TEST_DIR/order-v2.avsc")
ID3=$(register other-value "$TEST_DIR/order-v3.avsc")
ID4=$(register other-value "$TEST_DIR/order-v4.avsc")
assert_eq "$ID1 $ID2 $ID3 $ID4" "1 2 3 4" "registered schema ids"

cat > "$TEST_DIR/triggers/avro-orders.json" <<'EOC'
{
  "topics": ["avro.orders"],
  "format": "avro",
  "avro": {"schemas": ["order.avsc"]},
  "filter": {"Variable": "$.value.status", "StringEquals": "NEW"},
  "action": {
    "type": "start",
    "workflow_type": "avro-echo",
    "id.$": "States.Format('avro-{}', $.value.orderId)",
    "input": {"order.$": "$.value", "avro.$": "$.avro"}
  }
}
EOC
echo '{}' | "$KT" produce avro.orders --key warmup   # the topic exists first
export BATON_SCHEMA_REGISTRY_URL="$REG"
export BATON_SCHEMA_REGISTRY_USER=bridge
export BATON_SCHEMA_REGISTRY_PASSWORD_FILE="$TEST_DIR/registry-password.secret"
bridge_up() {
  _bg "$1" "$BIN/baton-bridge" --triggers "$TEST_DIR/triggers" \
    --set bridge.avro.registry.wait.ms=8000 --set log.level=debug
  BRIDGE=$LAST_PID
}
bridge_up bridge
"$BIN/baton-bridge" --triggers "$TEST_DIR/triggers" --check >/dev/null || fail "--check"
mkdir -p "$TEST_DIR/bad-triggers"
echo '{"type": "record", "name": "NoFields"}' > "$TEST_DIR/bad-triggers/bad.avsc"
sed 's/order.avsc/bad.avsc/' "$TEST_DIR/triggers/avro-orders.json" > "$TEST_DIR/bad-triggers/bad.json"
if "$BIN/baton-bridge" --triggers "$TEST_DIR/bad-triggers" --check 2>"$TEST_DIR/check.err"; then
  fail "--check accepted a trigger whose schema file is not an Avro schema"
fi
grep -q 'bad.avsc: not an Avro schema' "$TEST_DIR/check.err" || fail "--check reason: $(cat "$TEST_DIR/check.err")"

ev() { # KEY FRAMING EXTRA-JSON  (value: order KEY)
  printf '{"key":"%s","framing":"%s","schema":"%s","pcf":"%s","value":{"orderId":"%s","amount":%d,"price":12.5,"coupon":%s,"status":"NEW","tags":["a","b"],"attrs":{"x":1},"raw":"00ff10","createdAt":1700000000000%s}%s}\n' \
    "$1" "$2" "${SCHEMA:-$TEST_DIR/triggers/order.avsc}" "$TEST_DIR/order.pcf" "$1" "${#1}" \
    "${COUPON:-null}" "${VEXTRA:-}" "${3:-}"
}
produce() { /usr/bin/python3 "$HERE/avro_events.py" "$BOOT" avro.orders; }
result() { ctl result "avro-$1" --wait 60 | tr -d ' \n'; }

# 1. wire format (three records of id 1), header id, header subject,
#    single-object encoding
{
  ev A1 registry ',"id":1'
  COUPON='"SPRING"' ev A2 registry ',"id":1'
  ev A3 registry ',"id":1'
  ev C1 header-id ',"id":1'
  SCHEMA="$TEST_DIR/order-v2.avsc" VEXTRA=',"channel":"app"' ev D1 header-subject ',"subject":"avro.orders-value"'
  ev B1 single
} | produce
res=$(result A1) || fail "avro-A1: $res"
for want in '"orderId":"A1"' '"amount":2' '"price":12.5' '"coupon":null' '"status":"NEW"' \
    '"tags":["a","b"]' '"attrs":{"x":1}' '"raw":"AP8Q"' '"createdAt":1700000000000' \
    '"encoding":"registry"' '"schema_id":1' '"name":"shop.avro.OrderCreated"'; do
  grep -qF "$want" <<<"$res" || fail "avro-A1 lacks $want: $res"
done
grep -qF '"coupon":"SPRING"' <<<"$(result A2)" || fail "union branch string: $(result A2)"
result A3 >/dev/null || fail "avro-A3"
res=$(result C1) || fail "avro-C1: $res"
grep -qF '"encoding":"header"' <<<"$res" || fail "header id: $res"
res=$(result D1) || fail "avro-D1: $res"
grep -qF '"channel":"app"' <<<"$res" || fail "subject latest (version 2) not used: $res"
grep -qF '"subject":"avro.orders-value","schema_id":2' <<<"$res" || fail "subject info: $res"
res=$(result B1) || fail "avro-B1: $res"
grep -qF '"encoding":"single-object"' <<<"$res" || fail "single-object: $res"
pass "wire format, schema-id and subject headers and single-object encoding start runs with the decoded values"

# the cache: one fetch of id 1 for four records, one of the subject
assert_eq "$(grep -c '^GET /schemas/ids/1 200' "$TEST_DIR/registry-requests.txt")" 1 \
  "registry fetches of schema id 1"
assert_eq "$(grep -c '^GET /subjects/avro.orders-value/versions/latest 200' "$TEST_DIR/registry-requests.txt")" 1 \
  "registry fetches of the subject"
pass "the registry is asked once per schema id"

# 2. bad records go to the DLQ with their reasons; the next one flows
{
  ev U1 registry ',"id":999'
  printf '{"key":"M1","framing":"hex","hex":"07000000010203"}\n'
  printf '{"key":"T1","framing":"hex","hex":"00000000010441"}\n'
  ev A4 registry ',"id":1'
} | produce
result A4 >/dev/null || fail "the record after the bad ones did not flow"
dlq=$("$KT" consume baton.dlq --count 4 --timeout 20) || fail "DLQ records missing: $dlq"
grep -q 'baton-error=undecodable (avro): unknown schema id 999: GET http://127.0.0.1:[0-9]*/schemas/ids/999: 404' <<<"$dlq" \
  || fail "no unknown-id reason: $dlq"
grep -q 'baton-error=undecodable (avro): wrong magic byte 0x07' <<<"$dlq" || fail "no wrong-magic reason: $dlq"
grep -q "baton-error=undecodable (avro): field 'orderId': string of 2 bytes, 1 left" <<<"$dlq" \
  || fail "no truncation reason: $dlq"
grep -q 'baton-trigger=avro-orders baton-source-topic=avro.orders' <<<"$dlq" || fail "DLQ headers: $dlq"
pass "unknown schema id, wrong magic byte and truncated Avro go to baton.dlq with their reasons"

# 3. registry down: a cached id decodes; an uncached one waits 8 s then
#    goes to the DLQ; one whose registry comes back in time is decoded
proc_kill9 "$REGISTRY"
ev A5 registry ',"id":1' | produce
result A5 >/dev/null || fail "a cached schema id needs no registry"
t0=$(date +%s)
SCHEMA="$TEST_DIR/order-v4.avsc" VEXTRA=',"channel":"x","region":"x","zone":1' ev E1 registry ',"id":4' | produce
dlq_has_unreachable() { "$KT" consume baton.dlq --timeout 3 | grep -q 'baton-error=registry unreachable (avro): schema id 4: schema registry unreachable: [0-9]* tries in'; }
wait_until 40 "E1 in the DLQ as registry unreachable" dlq_has_unreachable
waited=$(( $(date +%s) - t0 ))
[ "$waited" -ge 7 ] || fail "E1 went to the DLQ after ${waited}s, before the 8 s wait"
SCHEMA="$TEST_DIR/order-v3.avsc" VEXTRA=',"channel":"y","region":"us"' ev F1 registry ',"id":3' | produce
sleep 2
registry_up registry-restarted
res=$(result F1) || fail "avro-F1 after the registry came back: $res"
grep -qF '"region":"us"' <<<"$res" || fail "F1 decoded with the wrong schema: $res"
ctl describe avro-E1 >/dev/null 2>&1 && fail "avro-E1 started although its schema was never fetched"
pass "registry down: cached ids decode, a record waits up to bridge.avro.registry.wait.ms then goes to the DLQ, a registry back in time decodes it"

proc_stop "$BRIDGE" || fail "the bridge did not stop cleanly"
grep -q 'stopped: .* command(s)' "$TEST_DIR/bridge.log" || fail "no final bridge stats"
