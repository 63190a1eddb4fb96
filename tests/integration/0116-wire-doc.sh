#!/usr/bin/env bash
# 0116: every example of docs/wire-protocol.md works as written, so the doc
# cannot rot.  tests/integration/wire-doc.py extracts the blocks the doc
# marks check:NAME (and fails when a block a reader would run is unmarked,
# or a marked one is missing); this test then:
#  - checks the data examples without a stack: the JSON task has the
#    fields of schemas/task.avsc in order, its Avro bytes decode
#    (python3-avro) to the same task, the cancel notice and the claim-check
#    reference use the schema's and common/blob.h's names;
#  - shows those checks fail: copies of the doc with a field renamed, a
#    byte changed, a marker dropped are refused, each for its reason;
#  - runs the rest on a live stack (Apache Kafka, Redis, batond): the stack
#    file has the doc's keys; the doc's $BROKERS line, run as written,
#    finds the broker; the doc's two batond.conf blocks are batond's config
#    file (JSON tasks on py, version-3 tasks on legacy: a version-3 reader
#    consumes one exactly); the doc's kcat START and SIGNAL run a workflow
#    to its end, the START in the partition batond owns for it; a task and
#    a cancel notice batond writes have the doc's fields; the doc's kcat
#    commands for baton.cancels and baton.dlq print the notice and the
#    rejected result the doc shows (the result sent is the doc's sample).
source "$(dirname "$0")/lib.sh"
command -v kcat >/dev/null || fail "kcat is missing (scripts/install-deps.sh)"
/usr/bin/python3 -c 'import avro.io' || fail "python3-avro is missing (scripts/install-deps.sh)"
DOC=${WIRE_DOC:-docs/wire-protocol.md}
CHECKS=(stack-conf brokers json-queues-conf v3-queues-conf task-json task-avro
        cancel-json cancels-kcat blob-ref enc-json dlq-kcat dlq-output start-kcat signal-kcat)
wd() { /usr/bin/python3 tests/integration/wire-doc.py "$@"; }
EX=$TEST_DIR/examples
mkdir -p "$EX"

wd extract "$DOC" "$EX" "${CHECKS[@]}" || fail "extracting the examples of $DOC"
WIRE_DOC=$DOC wd static "$EX" || fail "the data examples of $DOC"
pass "${#CHECKS[@]} marked examples extracted; the task (JSON and Avro bytes), the notice and the reference match the schemas"

# mutant SED WHAT: a copy of the doc edited by SED must be refused, with
# a message containing WHAT.
mutant() {
  local m=$TEST_DIR/mutant.md d=$TEST_DIR/mutant out
  rm -rf "$d"; mkdir -p "$d"
  sed "$1" "$DOC" >"$m"
  cmp -s "$m" "$DOC" && fail "mutant '$1' changes nothing"
  if out=$(wd extract "$m" "$d" "${CHECKS[@]}" 2>&1 && WIRE_DOC=$m wd static "$d" 2>&1); then
    fail "a doc edited by '$1' passes"
  fi
  echo "$out" | grep -qF -- "$2" || fail "mutant '$1' refused for another reason: $out"
}
mutant '/check:task-json/,/^```$/ s/"root_workflow_id"/"root_run_id"/' "task-json: fields"
mutant '/check:task-avro/,/^```$/ s/root_workflow_id:/root_id:/' "task-avro: the lines name fields"
mutant '/check:task-avro/,/^```$/ s/^3c /3e /' "task-avro: decodes to"
mutant '/check:cancel-json/,/^```$/ s/"reason"/"why"/' "cancel-json: ['why'] not fields"
mutant 's/^```sh check:signal-kcat$/```sh/' "a sh block without check:NAME"
mutant 's/^```text$/```/' "a block without a language"
mutant 's/check:dlq-kcat/check:dlq/' "no block marked check:dlq-kcat"
pass "copies of the doc with a field renamed, a byte changed or a marker dropped are refused"

# ---- the live stack ----------------------------------------------------
stack_up "$TEST_DIR" 2 py,legacy
wd stack-conf "$EX/stack-conf" "$BATON_STACK_FILE" || fail "the stack file's keys"
unset BROKERS
source "$EX/brokers"
assert_eq "$BROKERS" "$(sed -n 's/^kafka.bootstrap.servers=//p' "$BATON_STACK_FILE")" "\$BROKERS from the doc's line"
[ -n "$BROKERS" ] || fail "the doc's line leaves \$BROKERS empty"
# the same line with the key misspelt finds nothing: the check can fail
( BROKERS=x; eval "$(sed 's/bootstrap.servers/bootstrap.server/' "$EX/brokers")"; [ -z "$BROKERS" ] ) \
  || fail "a misspelt key still sets \$BROKERS"
pass "the stack file has the doc's keys; the doc's \$BROKERS line reads the broker ($BROKERS)"

WF=$TEST_DIR/workflows
mkdir -p "$WF"
cp config/workflows/wait-signal.asl.json "$WF/"
for q in py legacy; do
  cat >"$WF/doc-$q.asl.json" <<JSON
{"StartAt": "Work", "States": {"Work": {"Type": "Task",
  "Resource": "baton:activity:$q/text.normalize",
  "Parameters": {"text.$": "$.text"}, "TimeoutSeconds": 120, "End": true}}}
JSON
done
cat "$EX/json-queues-conf" "$EX/v3-queues-conf" >"$TEST_DIR/batond.conf"
WORKFLOWS_DIR=$WF batond_up batond --config "$TEST_DIR/batond.conf"
wait_until 60 "batond to take its partitions" owns_partitions "$TEST_DIR/batond.log"

# the doc's START, as written, then its SIGNAL
bash -euo pipefail "$EX/start-kcat" || fail "the doc's kcat START"
wait_until 30 "order-17 to run" sh -c "'$BIN/batonctl' describe order-17 | grep -q RUNNING"
p=$("$BIN/baton-kafka" partition baton.commands order-17)
kcat -C -b "$BROKERS" -t baton.commands -p "$p" -o beginning -e -q -f '%k\n' | grep -qx order-17 \
  || fail "the doc's START is not in partition $p of baton.commands (murmur2)"
# the doc's cancel notice, sent as a command, goes through batond's codec:
# it cancels order-17; the doc's START then starts it again (id_reuse:
# a run that did not succeed may be replaced)
kcat -P -b "$BROKERS" -t baton.commands -p "$p" -k order-17 -H content-type=application/json <"$EX/cancel-json"
wait_until 30 "the doc's CANCEL to cancel order-17" sh -c "'$BIN/batonctl' describe order-17 | grep -q CANCELLED"
bash -euo pipefail "$EX/start-kcat" || fail "the doc's kcat START, again"
wait_until 30 "order-17 to run again" sh -c "'$BIN/batonctl' describe order-17 | grep -q RUNNING"
BROKERS=$BROKERS bash -euo pipefail "$EX/signal-kcat" || fail "the doc's kcat SIGNAL"
res=$(ctl result order-17 --wait 30) || fail "order-17 did not end: $res"
/usr/bin/python3 -c 'import json, sys; sys.exit(json.loads(sys.argv[1]).get("approval") != {"by": "ann"})' "$res" ||
  fail "order-17's result lacks the signal's payload: $res"
pass "the doc's kcat START (partition $p, murmur2) and SIGNAL run wait-signal to its end; batond decodes the doc's CANCEL"

# first_msg TOPIC FORMAT FILE: the topic's first message into FILE (kcat
# -f FORMAT), waiting (30 s) for one to be there.
_first_msg() { kcat -C -b "$BROKERS" -t "$1" -o beginning -c 1 -e -q -f "$2" >"$3" && [ -s "$3" ]; }
first_msg() { wait_until 30 "a message on $1" _first_msg "$@"; }

# a task as batond writes it on a JSON queue (the doc's conf block)
ctl start doc-py --id t-py --input '{"text":"Hi"}' >/dev/null
first_msg baton.tasks.py '%h\n%s\n' "$TEST_DIR/task.out"
grep -q 'content-type=application/json' "$TEST_DIR/task.out" || fail "the py task is not JSON: $(cat "$TEST_DIR/task.out")"
sed -n 2p "$TEST_DIR/task.out" >"$TEST_DIR/task.json"
wd same-fields "$EX/task-json" "$TEST_DIR/task.json" || fail "the doc's JSON task"
pass "a JSON task batond writes (queue py, the doc's conf block) has the doc's fields in its order"

# a task on the doc's version-3 queue: a version-3 reader consumes it exactly
ctl start doc-legacy --id t-legacy --input '{"text":"Hi"}' >/dev/null
first_msg baton.tasks.legacy '%s' "$TEST_DIR/legacy.avro"
wd v3-task "$TEST_DIR/legacy.avro" t-legacy || fail "the legacy queue's task"
pass "a task on the doc's batond.tasks.avro.v3.queues queue is a version-3 record"

# cancel notices: the doc's kcat reads them from the end of the topic,
# which the first cancel creates (stdbuf: its output is a file here, and
# the test reads it line by line as a terminal would show it)
ctl cancel t-py >/dev/null
wait_until 30 "baton.cancels to exist" sh -c "kcat -L -b '$BROKERS' | grep -qE 'topic \"baton.cancels\" with [1-9][0-9]* partitions'"
BROKERS=$BROKERS stdbuf -oL bash -c "exec $(cat "$EX/cancels-kcat")" >"$TEST_DIR/cancels.out" 2>"$TEST_DIR/cancels.err" &
KC=$!
wait_until 30 "the doc's kcat to reach the end of baton.cancels" grep -q 'Reached end' "$TEST_DIR/cancels.err"
ctl start doc-py --id t-py2 --input '{"text":"Hi"}' >/dev/null
wait_until 30 "t-py2's task" sh -c "kcat -C -b '$BROKERS' -t baton.tasks.py -o beginning -e -q -f '%k\n' | grep -qx t-py2"
ctl cancel t-py2 >/dev/null
wait_until 30 "the doc's kcat to print t-py2's notice" grep -q '^t-py2 {' "$TEST_DIR/cancels.out"
kill "$KC"; wait "$KC" 2>/dev/null || true
grep '^t-py2 {' "$TEST_DIR/cancels.out" | head -1 | cut -d' ' -f2- >"$TEST_DIR/cancel.json"
wd same-fields "$EX/cancel-json" "$TEST_DIR/cancel.json" subset || fail "the doc's cancel notice"
assert_eq "$(json_get "$(cat "$TEST_DIR/cancel.json")" reason)" \
  "$(json_get "$(cat "$EX/cancel-json")" reason)" "the reason of a cancelled run's notice"
json_get "$(cat "$TEST_DIR/cancel.json")" task_id | grep -q '^t-py2/1/1' || fail "the notice names another task: $(cat "$TEST_DIR/cancel.json")"
pass "the doc's kcat prints the JSON cancel notice of a py task, with the doc's fields"

# the dead-letter topic: the value of the doc's sample output (after its
# empty key) sent as a result, then the doc's kcat must print that output
# (partition and offset aside)
expected=$(cat "$EX/dlq-output")
value=${expected#*  }
rp=$("$BIN/baton-kafka" partition baton.results order-17)
printf '%s' "$value" |
  kcat -P -b "$BROKERS" -t baton.results -p "$rp" -k order-17 -H content-type=application/json
BROKERS=$BROKERS stdbuf -oL bash -c "exec $(cat "$EX/dlq-kcat")" >"$TEST_DIR/dlq.out" 2>"$TEST_DIR/dlq.err" &
KD=$!
wait_until 30 "the doc's kcat to print the rejected result" grep -q "baton-error" "$TEST_DIR/dlq.out"
kill "$KD"; wait "$KD" 2>/dev/null || true
norm() { sed -E 's/\[[0-9]+\]@[0-9]+:/[P]@O:/'; }
assert_eq "$(norm <"$TEST_DIR/dlq.out")" "$(norm <<<"$expected")" \
  "the doc's kcat on baton.dlq (only the rejected result: the doc's START, SIGNAL and CANCEL are not there)"
pass "the doc's kcat prints the rejected result as the doc shows it"
