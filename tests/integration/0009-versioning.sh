#!/usr/bin/env bash
# 0009: a run stays on the definition version it started with.  Start a run,
# deploy a changed definition, restart batond: the old run finishes on the
# old graph, a new run takes the new one.
source "$(dirname "$0")/lib.sh"
stack_up "$TEST_DIR" 2 default
WF=$TEST_DIR/wf; mkdir -p "$WF"
cat > "$WF/gate.asl.json" <<'J'
{"StartAt":"Wait","States":{
  "Wait":{"Type":"Task","Resource":"baton:signal:approve","ResultPath":"$.approval","Next":"Done"},
  "Done":{"Type":"Succeed"}}}
J
WORKFLOWS_DIR=$WF batond_up batond-v1
B1=$LAST_PID
ctl start gate --id t9-old --input '{}' >/dev/null
waits_for_approve() {
  ctl describe "$1" -o json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
sys.exit(0 if "approve" in json.dumps(json.load(sys.stdin).get("pending")) else 1)'
}
wait_until 30 "t9-old to wait for signal approve (on version 1)" waits_for_approve t9-old
proc_stop "$B1" || fail "batond did not stop cleanly"

cat > "$WF/gate.asl.json" <<'J'
{"StartAt":"Wait","States":{
  "Wait":{"Type":"Task","Resource":"baton:signal:approve","ResultPath":"$.approval","Next":"Stamp"},
  "Stamp":{"Type":"Pass","Result":2,"ResultPath":"$.graph","Next":"Done"},
  "Done":{"Type":"Succeed"}}}
J
WORKFLOWS_DIR=$WF batond_up batond-v2
ctl start gate --id t9-new --input '{}' >/dev/null
wait_until 60 "t9-new to wait for signal approve (on version 2)" waits_for_approve t9-new
ctl signal t9-old approve --payload '"ok"' >/dev/null
ctl signal t9-new approve --payload '"ok"' >/dev/null
old=$(ctl result t9-old --wait 60) || fail "old run did not finish: $old"
new=$(ctl result t9-new --wait 60) || fail "new run did not finish: $new"
echo "old run: $old" | tr -d '\n '; echo
echo "new run: $new" | tr -d '\n '; echo
grep -q '"graph"' <<<"$old" && fail "the old run took the new graph"
grep -q '"graph"' <<<"$new" || fail "the new run did not take the new graph"
v_old=$(ctl describe t9-old -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
v_new=$(ctl describe t9-new -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
[ "$v_old" != "$v_new" ] || fail "both runs report version $v_old"
pass "the old run finished on version $v_old, the new one on $v_new"
