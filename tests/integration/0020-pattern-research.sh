#!/usr/bin/env bash
# 0020: the research agent (config/workflows/research.asl.json) -- web search
# on the tools queue, LLM synthesis on the llm queue, a formatted report --
# runs through Kafka and Redis with real workers: each run's report is made
# from its own topic's sources, the history shows search -> synthesize ->
# report, and each activity ran exactly once per run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/patterns-lib.sh"
patterns_up
agent_worker_up w-llm llm
agent_worker_up w-tools tools

topics=("durable agents" "kafka consumer groups" "redis aof" "state machines")
for i in "${!topics[@]}"; do
  ctl start research --id "t20-$i" --input "{\"topic\":\"${topics[$i]}\"}" >/dev/null
done

for i in "${!topics[@]}"; do
  t=${topics[$i]}
  out=$(await_result "t20-$i" 60)
  slug=${t// /-}
  want="Research report: $t: synthesized from 3 inputs: $t: overview; $t: tutorial; $t: pitfalls. [3 sources]"
  assert_eq "$(jq_py "$out" 'j["report"]')" "$want" "report of t20-$i"
  assert_eq "$(jq_py "$out" 'j["topic"]')" "$t" "topic of t20-$i"
  assert_eq "$(jq_py "$out" '" ".join(s["url"] for s in j["sources"])')" \
    "https://example.org/$slug/1 https://example.org/$slug/2 https://example.org/$slug/3" \
    "sources of t20-$i"
  assert_eq "$(jq_py "$out" 'j["citations"] == [s["url"] for s in j["sources"]]')" \
    "true" "citations of t20-$i are its sources"
done
pass "four research runs each produced the report of their own topic, with citations"

path=$(history_path t20-2 | tr '\n' '|')
assert_eq "$path" "WorkflowStarted -|ActivityScheduled SearchWeb|ActivityCompleted SearchWeb|ActivityScheduled Synthesize|ActivityCompleted Synthesize|WorkflowCompleted FormatReport|" \
  "path of t20-2"
hist=$(ctl history t20-2 -o json)
assert_eq "$(jq_py "$hist" '[(e["data"]["queue"], e["data"]["type"]) for e in j if e["type"] == "ActivityScheduled"]')" \
  '[["tools", "web.search"], ["llm", "llm.synthesize"]]' "queues and activity types"
assert_eq "$(jq_py "$hist" '[e for e in j if e["type"] == "ActivityScheduled"][1]["data"]["input"]["sources"][2]["title"]')" \
  "redis aof: pitfalls" "the LLM got the search results"
pass "history: search on tools, synthesis on llm over the sources found, then the report"

for i in "${!topics[@]}"; do
  assert_eq "$(exec_count web.search "t20-$i/")" 1 "web.search executions of t20-$i"
  assert_eq "$(exec_count llm.synthesize "t20-$i/")" 1 "llm.synthesize executions of t20-$i"
done
pass "one search and one LLM call per run, none repeated"
