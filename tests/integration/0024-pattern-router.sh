#!/usr/bin/env bash
# 0024: the router (config/workflows/router.asl.json): the LLM classifies a
# support request, which runs as a child workflow of the matching team
# (billing.asl.json or technical.asl.json); anything else goes to triage.
# Asserts each reply (made by the right team's child run from that team's
# own lookup), the child runs in the history and in Redis, and that no
# other team's activity ran.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/patterns-lib.sh"
patterns_up
agent_worker_up w-llm llm
agent_worker_up w-tools tools

ctl start router --id t24-bill \
  --input '{"request":"I was charged twice on my invoice","customer":"c-17"}' >/dev/null
ctl start router --id t24-tech \
  --input '{"request":"The app crashes on login","customer":"c-18"}' >/dev/null
ctl start router --id t24-other \
  --input '{"request":"Do you like pizza?","customer":"c-19"}' >/dev/null

out=$(await_result t24-bill 60)
assert_eq "$(jq_py "$out" 'j["route"]')" billing "route of the billing request"
assert_eq "$(jq_py "$out" 'j["reply"]')" \
  '[billing] Re: I was charged twice on my invoice -- {"amount":42,"duplicate_charge":true,"invoice":"INV-1042"}' \
  "billing reply"
hist=$(ctl history t24-bill -o json)
# A child's id is "<parent>:<seq>.<nonce>" (docs/wire-protocol.md).
assert_eq "$(jq_py "$hist" '[(e["state"], e["data"]["id"].split(".")[0], e["data"]["type"], e["data"]["input"]) for e in j if e["type"] == "ChildStarted"]')" \
  '[["Billing", "t24-bill:2", "billing", {"request": "I was charged twice on my invoice", "customer": "c-17"}]]' \
  "billing child started"
child_of() { redis --scan --pattern "baton:{p*}:wf:$1.*" | sed 's/.*:wf://'; }
child=$(ctl describe "$(child_of t24-bill:2)" -o json)
assert_eq "$(jq_py "$child" '[j["type"], j["status"], j["state"]["team"], j["state"]["invoice"]]')" \
  '["billing", "SUCCEEDED", "billing", "INV-1042"]' "billing child run"
assert_eq "$(history_path t24-bill | tr '\n' '|')" \
  "WorkflowStarted -|ActivityScheduled Classify|ActivityCompleted Classify|ChildStarted Billing|ChildCompleted Billing|WorkflowCompleted Reply|" \
  "path of t24-bill"
pass "a billing request is answered by the billing child workflow"

out=$(await_result t24-tech 60)
assert_eq "$(jq_py "$out" 'j["route"]')" technical "route of the technical request"
assert_eq "$(jq_py "$out" 'j["reply"]')" \
  '[technical] Re: The app crashes on login -- ["https://example.org/the-app-crashes-on-login/1","https://example.org/the-app-crashes-on-login/2"]' \
  "technical reply"
child=$(ctl describe "$(child_of t24-tech:2)" -o json)
assert_eq "$(jq_py "$child" '[j["type"], j["status"], j["state"]["articles"]]')" \
  '["technical", "SUCCEEDED", 2]' "technical child run"
assert_eq "$(history_path t24-tech | grep '^Child' | tr '\n' '|')" \
  "ChildStarted Technical|ChildCompleted Technical|" "children of t24-tech"
pass "a technical request is answered by the technical child workflow"

out=$(await_result t24-other 60)
assert_eq "$(jq_py "$out" '[j["route"], j["reply"]]')" '["triage", null]' "unroutable request"
assert_eq "$(history_path t24-other | grep -c '^Child' || true)" 0 "children of t24-other"
pass "a request no team takes goes to triage, no child run"

assert_eq "$(exec_count llm.classify t24-)" 3 "classifications"
assert_eq "$(exec_count billing.lookup t24-bill:2.)" 1 "billing lookups"
assert_eq "$(exec_count billing.lookup)" 1 "billing lookups overall"
assert_eq "$(exec_count web.search t24-tech:2.)" 1 "knowledge-base searches"
assert_eq "$(exec_count web.search)" 1 "searches overall"
assert_eq "$(exec_count llm.reply)" 2 "replies written"
runs=$(ctl list -o json | /usr/bin/python3 -c '
import json, sys
print(sorted(w["id"].split(".")[0] + "=" + w["type"] for w in json.load(sys.stdin)))')
assert_eq "$runs" "['t24-bill:2=billing', 't24-bill=router', 't24-other=router', 't24-tech:2=technical', 't24-tech=router']" \
  "runs in Redis"
pass "each request ran only its own team's activities, once"
