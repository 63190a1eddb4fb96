#!/usr/bin/env bash
# 0025: escalation (config/workflows/escalation.asl.json): the CRM lookup
# fails on every attempt (1 + 2 retries), the Catch notifies a human, the
# run waits for their answer (signal 'resolve', also across a kill -9 of
# batond) and continues with the record they typed in.  A second run nobody
# answers fails with Escalation.Unanswered once the wait (24 h shipped,
# 4 s in the test's copy escalation-4s) times out.  Asserts the attempts and their
# spacing, the notification, the output built from the human's input, the
# path, and the time-out.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/patterns-lib.sh"
patterns_workflows
patterns_variant escalation escalation-4s 4
patterns_up
agent_worker_up w-llm llm
agent_worker_up w-tools tools --notify-log "$TEST_DIR/notify.log"

ctl start escalation --id t25-1 \
  --input '{"ticket":"TCK-7: cannot export","customer_id":"c-42"}' >/dev/null
await_signal_wait t25-1 resolve
assert_eq "$(exec_count crm.lookup t25-1/)" 3 "CRM attempts"
assert_eq "$(awk '$5 == "crm.lookup" {id = $1; sub(/\.[0-9a-f]+$/, "", id); print id}' "$EXEC_LOG" | sort | tr '\n' ' ')" \
  "t25-1/1/1 t25-1/1/2 t25-1/1/3 " "CRM attempt task ids"
gaps=$(awk '$5 == "crm.lookup" {print $3}' "$EXEC_LOG" | sort -n |
       awk 'NR > 1 && $1 - p < 900 {print $1 - p} {p = $1}')
[ -z "$gaps" ] || fail "retries less than IntervalSeconds (1 s) apart: $gaps ms"
assert_eq "$(cat "$TEST_DIR/notify.log")" \
  "ESC-t25-1 support-oncall ticket TCK-7: cannot export: CRM lookup of c-42 failed (CRM.Unavailable); send signal resolve with the customer record" \
  "the human's notification"
pass "the CRM failed 3 times, 1 s apart; the on-call human was notified once"

proc_kill9 "$BATOND"
batond_up batond-restarted
BATOND=$LAST_PID
ctl signal t25-1 resolve --payload '{"customer":{"name":"Ada","plan":"pro"},"by":"sam"}' >/dev/null
out=$(await_result t25-1 60)
assert_eq "$(jq_py "$out" '[j["source"], j["customer"], j["escalation"]]')" \
  '["human", {"name": "Ada", "plan": "pro"}, {"notified": "support-oncall", "ticket": "ESC-t25-1"}]' \
  "the human's record is used"
assert_eq "$(jq_py "$out" 'j["reply"]')" \
  '[support] Re: TCK-7: cannot export -- {"name":"Ada","plan":"pro"}' "reply"
path=$(history_path t25-1 | tr '\n' '|')
try="ActivityScheduled LookupCustomer|ActivityFailed LookupCustomer|"
assert_eq "$path" "WorkflowStarted -|${try}RetryScheduled LookupCustomer|${try}RetryScheduled LookupCustomer|${try}ActivityScheduled NotifyHuman|ActivityCompleted NotifyHuman|SignalWaitStarted WaitForHuman|SignalReceived WaitForHuman|ActivityScheduled WriteReply|ActivityCompleted WriteReply|WorkflowCompleted Done|" \
  "path of t25-1"
hist=$(ctl history t25-1 -o json)
assert_eq "$(jq_py "$hist" '[e["data"]["attempt"] for e in j if e["type"] == "ActivityScheduled" and e["state"] == "LookupCustomer"]')" \
  "[1, 2, 3]" "attempts scheduled"
assert_eq "$(exec_count crm.lookup)" 3 "CRM attempts in all"
assert_eq "$(exec_count notify.human)" 1 "notifications"
assert_eq "$(exec_count llm.reply t25-1/)" 1 "replies"
pass "the answer survived a kill -9 of batond and the run continued with it"

ctl start escalation-4s --id t25-2 \
  --input '{"ticket":"TCK-8: slow","customer_id":"c-43"}' >/dev/null
await_signal_wait t25-2 resolve
set +e; res=$(ctl result t25-2 --wait 30 2>&1); rc=$?; set -e
[ $rc -ne 0 ] || fail "an unanswered escalation succeeded: $res"
d=$(ctl describe t25-2 -o json)
assert_eq "$(jq_py "$d" '[j["status"], j["error"], j["position"]]')" \
  '["FAILED", "Escalation.Unanswered", "Unresolved"]' "unanswered escalation"
assert_eq "$(grep -c '^ESC-t25-2 ' "$TEST_DIR/notify.log")" 1 "notifications of t25-2"
pass "nobody answering ends the run with Escalation.Unanswered"
