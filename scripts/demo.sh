#!/usr/bin/env bash
# make demo: the embedded dev stack, batond and the example worker
# (activities/examples/example_worker.c, the one to copy); one
# research workflow end to end (result and history), then a run whose
# orchestrator is killed with SIGKILL half way and restarted: it resumes
# where it was.  Everything started here is stopped by pid at the end.
# It ends with the research agent (scripts/demo-agent.sh, its own stack):
# plan, tool calls over HTTP and MCP, an approval gate, a streamed report.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/stack-lib.sh
DIR=build/demo
rm -rf "$DIR"
trap stack_down EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting the dev stack (embedded Kafka broker + private redis-server)"
stack_up "$DIR" 4 default
grep -E '^(kafka.bootstrap.servers|redis.url)' "$BATON_STACK_FILE"
batond_up batond
BATOND=$LAST_PID
# The example worker, not the tests' worker_up (baton-test-worker).
_bg worker "$BIN/baton-worker-example" --concurrency 4

say "batonctl start research-lite"
id=research-$$
"$BIN/batonctl" start research-lite --id "$id" \
    --input '{"topic":"durable execution for AI agents"}'
say "batonctl result $id --wait 60"
"$BIN/batonctl" result "$id" --wait 60
say "batonctl history $id"
"$BIN/batonctl" history "$id"

say "crash test: start slow-steps, kill -9 batond while an activity runs, restart it"
id2=slow-$$
"$BIN/batonctl" start slow-steps --id "$id2" --input '{}'
sleep 0.7
"$BIN/batonctl" describe "$id2" || true
proc_kill9 "$BATOND"
echo "batond (pid $BATOND) killed with SIGKILL"
sleep 1
batond_up batond-restarted
echo "batond restarted (pid $LAST_PID)"
"$BIN/batonctl" result "$id2" --wait 60
say "history of $id2: every step once"
"$BIN/batonctl" history "$id2"
say "activity executions logged by the worker"
grep -c "task $id2/" "$DIR/worker.log" | sed 's/^/executions: /'
say "first part done; stopping its stack"
trap - EXIT
stack_down
# Last: the research agent on the real LLM, HTTP and MCP workers.
exec scripts/demo-agent.sh
