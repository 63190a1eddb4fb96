#!/usr/bin/env bash
# 0120: an agent crash test.  The research agent
# (config/workflows/research-agent.asl.json) runs a tool loop with streaming
# on against the scripted model server: a plan, 6 tool turns (HTTP
# web_search and MCP search_notes in turn), an answer, the approval (sent
# at the start: a signal is kept until the wait), a streamed report -- 9
# model calls of ~1.5 s each.  One undisturbed run first, then the same
# script again with kill -9 at random points (seed printed; SEED=N repeats
# it), each restarted at once:
#   1. batond, once at least K1 (random) model calls of the run completed;
#   2. the LLM worker, while the model server reports a call of the run in
#      progress (a random moment within the call);
#   3. batond again, while a model call is in progress.
# Then: the run's output equals the undisturbed run's; the model server
# served each turn's call completed once, and the only repeats are calls
# that were in progress at the worker kill (cut: not completed) or whose
# task was in the dead batond's outbox; the budget's usage counts each
# paid call once (calls and tokens equal the undisturbed run's, calls =
# the distinct turns served); `batonctl watch` followed the run across the
# kills to the end of the report.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
SEED=${SEED:-$RANDOM}
RANDOM=$SEED
echo "seed $SEED"
TURNS=6
# The script: rules from the last stage to the first (a request carries
# the whole conversation, so the latest marker in it decides the turn).
/usr/bin/python3 - "$TURNS" >"$TEST_DIR/script.json" <<'PY'
import json, sys
turns = int(sys.argv[1])
slow = {"chunk_delay_ms": 180, "times": -1}
def words(text):
    w = text.split(" ")
    return [x + " " for x in w[:-1]] + [w[-1]]
rules = [dict(slow, match="Write the final report", usage={"input": 900, "output": 90},
              chunks=words("Report: the agent survived every crash and paid for each model call once.")),
         dict(slow, match="numbered research plan", usage={"input": 60, "output": 20},
              chunks=words("1. Search six times. 2. Answer. 3. Report.")),
         dict(slow, match="probe-%d" % turns, usage={"input": 700, "output": 40},
              chunks=words("Answer: six probes done, durable all the way."))]
for k in range(turns, 0, -1):
    name, args = (("web_search", {"query": "probe-%d" % k}) if k % 2
                  else ("search_notes", {"query": "probe-%d replay" % k}))
    r = dict(slow, chunks=words("Turn %d: calling %s now." % (k, name)),
             tool_calls=[{"id": "call-%d" % k, "name": name, "arguments": args}],
             usage={"input": 100 * k, "output": 10 + k})
    r["match"] = "probe-%d" % (k - 1) if k > 1 else "You are a research agent"
    rules.append(r)
print(json.dumps({"rules": rules}))
PY
CALLS_PER_RUN=$((TURNS + 3))
model_server_up "$TEST_DIR/script.json"
tool_server_up
rm -f "$TEST_DIR/mcp.port"
_bg mcp-server /usr/bin/python3 tests/tools/mcp_server.py --port-file "$TEST_DIR/mcp.port"
MCP_PORT=$(_wait_port "$TEST_DIR/mcp.port" "$LAST_PID") || fail "MCP server did not start"
agents_up
llm_worker_up w-llm-1 --concurrency 4
WLLM=$LAST_PID
http_worker_up w-http --concurrency 4
BATON_MCP_URL=http://127.0.0.1:$MCP_PORT/mcp _bg w-mcp "$BIN/baton-worker-mcp" --queue mcp --concurrency 4
sleep 3 # let the workers join their groups

INPUT="{\"question\":\"Probe the tools six times.\",\"tools_url\":\"$TOOL_URL/tools\"}"
APPROVE='{"decision":"approve","by":"t120","note":"ok"}'
start_run() {
  ctl start research-agent --id "$1" --input "$INPUT" >/dev/null
  ctl signal "$1" approve --payload "$APPROVE" >/dev/null
}
usage_of() { ctl -o json describe "$1" | jq_py "$(cat)" 'j["usage"]'; }

# --- the undisturbed run ------------------------------------------------
t0=$(date +%s)
start_run t120-calm
calm=$(run_out t120-calm 180)
assert_eq "$(jq_py "$calm" 'j["status"]')" reported "status of the undisturbed run"
assert_eq "$(jq_py "$calm" 'j["report"]')" \
  "Report: the agent survived every crash and paid for each model call once." "the scripted report"
assert_eq "$(jq_py "$calm" 'j["tool_calls"]')" "$TURNS" "tool calls of the undisturbed run"
N0=$(jq_py "$(model_calls)" 'len(j["calls"])')
assert_eq "$N0" "$CALLS_PER_RUN" "model calls of the undisturbed run"
calm_usage=$(usage_of t120-calm)
echo "undisturbed run: $N0 model calls in $(( $(date +%s) - t0 )) s, usage $calm_usage"

# --- the run with kills -------------------------------------------------
# crash_calls EXPR: EXPR over c = the run's calls (those after the first N0)
crash_calls() { jq_py "$(model_calls)" "(lambda c: $1)(j['calls'][$N0:])"; }
done_calls() { crash_calls 'len([x for x in c if x["completed"] and x["status"] == 200])'; }
in_progress() { crash_calls '[x["n"] for x in c if "t_end_ms" not in x]'; }
wait_done_calls() { wait_until 120 "$1 completed model calls" test_done_calls "$1"; }
test_done_calls() { [ "$(done_calls)" -ge "$1" ]; }
has_progress() { [ "$(in_progress)" != "[]" ]; }
running() { assert_eq "$(ctl -o json describe t120-crash | jq_py "$(cat)" 'j["status"]')" RUNNING "$1"; }
# outbox_tasks: the run's tasks in the outbox right after a batond kill
# (what a next owner re-sends: they may run again).
outbox_tasks() {
  for k in $(redis --scan --pattern 'baton:{p*}:outbox'); do redis HVALS "$k"; done \
    | grep -aoE 't120-crash/[0-9]+/[0-9]+' | sort -u || true
}
# The run's steps run one at a time: its outbox holds at most the pending
# task (an acknowledged or completed one is deleted), so at most one task
# can be re-sent, and paid again, after a kill.
kill_batond() {
  local n
  proc_kill9 "$BATOND"
  n=$(outbox_tasks | tee -a "$TEST_DIR/outbox-at-kills" | wc -l)
  [ "$n" -le 1 ] || fail "kill $1: the dead batond's outbox held $n tasks of the run (at most the pending one may be there)"
  batond_up "batond-$1"
  BATOND=$LAST_PID
}

start_run t120-crash
ctl watch t120-crash --wait 300 >"$TEST_DIR/watch.out" 2>"$TEST_DIR/watch.err" &
WATCH=$!

# Kill 1: batond, after K1 completed calls, at a random moment.
K1=$((2 + RANDOM % 2))
wait_done_calls "$K1"
sleep "0.$((RANDOM % 10))"
running "before the first batond kill"
d1=$(done_calls)
kill_batond 1
echo "kill 1: batond killed after $d1 completed model calls of the run (wanted >= $K1)"

# Kill 2: the LLM worker, while a call of the run is in progress.
K2=$((5 + RANDOM % 2))
wait_done_calls "$K2"
wait_until 60 "a model call in progress" has_progress
sleep "0.$((RANDOM % 8))"
cut=$(in_progress)
[ "$cut" != "[]" ] || fail "the model call ended before the worker kill (seed $SEED)"
proc_kill9 "$WLLM"
echo "kill 2: LLM worker killed during model call(s) $cut, after $(done_calls) completed"
llm_worker_up w-llm-2 --concurrency 4
running "after the worker kill"

# Kill 3: batond again, while a model call is in progress.
K3=$(( $(done_calls) + 1 ))
wait_done_calls "$K3"
wait_until 60 "a model call in progress" has_progress
sleep "0.$((RANDOM % 8))"
busy=$(in_progress)
running "before the second batond kill"
kill_batond 2
echo "kill 3: batond killed while model call(s) $busy were in progress, after $(done_calls) completed"

crash=$(run_out t120-crash 300)
wait $WATCH || fail "batonctl watch failed: $(cat "$TEST_DIR/watch.err")"

# --- the proofs ---------------------------------------------------------
assert_eq "$crash" "$calm" "the output after the kills (the undisturbed run's)"
pass "the run completed across 3 kills with the undisturbed run's output"

calls=$(crash_calls 'c')
echo "calls of the run: $(jq_py "$calls" '[(x["n"], x["rule"], x["completed"]) for x in j]')"
assert_eq "$(jq_py "$calls" '[x["completed"] for x in j if x["n"] in '"$cut"']')" \
  "$(jq_py "$cut" '[False] * len(j)')" "the calls in progress at the worker kill were cut"
assert_eq "$(jq_py "$calls" 'sorted(set(x["rule"] for x in j))')" \
  "$(jq_py "[]" "list(range($CALLS_PER_RUN))")" "every turn served"
# Completed twice: only a turn whose task was in a dead batond's outbox.
n_out=$(count_lines "$TEST_DIR/outbox-at-kills")
twice=$(jq_py "$calls" 'len([r for r in set(x["rule"] for x in j) if sum(1 for x in j if x["rule"] == r and x["completed"]) > 1])')
[ "$twice" -le "$n_out" ] || fail "$twice turns served completed twice, $n_out tasks in an outbox at a kill"
# Not completed: only calls in progress at the worker kill.
assert_eq "$(jq_py "$calls" '[x["n"] for x in j if not x["completed"]]')" "$cut" "calls not completed"
extra=$(( $(jq_py "$calls" 'len(j)') - CALLS_PER_RUN ))
pass "each completed call served once: $extra repeat(s), the $(jq_py "$cut" 'len(j)') cut by the worker kill${n_out:+; $n_out task(s) in an outbox at a kill}"

crash_usage=$(usage_of t120-crash)
assert_eq "$(jq_py "$crash_usage" 'j["calls"]')" "$(jq_py "$calls" 'len(set(x["rule"] for x in j if x["completed"]))')" \
  "budget calls = distinct completed calls"
assert_eq "$crash_usage" "$calm_usage" "usage after the kills (the undisturbed run's)"
pass "the budget counted each paid call once: $crash_usage"

grep -q "Report: the agent survived every crash" "$TEST_DIR/watch.out" ||
  fail "watch did not show the report: $(tail -n 5 "$TEST_DIR/watch.out")"
assert_eq "$(redis EXISTS "baton:stream:{t120-crash}")" 1 "the run's stream index"
pass "batonctl watch followed the streamed run across the kills to the report"
assert_no_key
