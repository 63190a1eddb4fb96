#!/usr/bin/env bash
# 0086: the network workers' spans carry OpenTelemetry's GenAI attributes
# (docs/tracing.md): a model call through baton-worker-llm is a "chat
# <model>" span with gen_ai.operation.name, gen_ai.provider.name,
# gen_ai.request.model, gen_ai.response.model and the token usage, under
# the activity span batond opened; the prompt is in no span while
# tracing.genai.content is off (the default) and in gen_ai.input.messages
# once a worker turns it on; an HTTP tool call is an "execute_tool" span
# with the HTTP attributes; the API key appears in no span.  The span of
# an execution reaches the services it calls: the HTTP tool server gets it
# as the traceparent header, the MCP server as params._meta.traceparent of
# tools/call, both naming exactly the execute_tool span.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
SPANS=$TEST_DIR/spans.jsonl
_bg otlp /usr/bin/python3 tests/integration/otlp-receiver.py "$SPANS" "$TEST_DIR/otlp.port"
wait_until 20 "the OTLP receiver listens" test -s "$TEST_DIR/otlp.port"
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$(cat "$TEST_DIR/otlp.port")"
cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [
 {"match": "secret-prompt", "times": 2, "text": "traced reply",
  "usage": {"input": 12, "output": 6}}
]}
JSON
model_server_up "$TEST_DIR/script.json"
tool_server_up
agents_up
llm_worker_up w-llm --concurrency 2
WLLM=$LAST_PID
http_worker_up w-http --concurrency 2
rm -f "$TEST_DIR/mcp.port"
_bg mcp-server /usr/bin/python3 tests/tools/mcp_server.py \
    --port-file "$TEST_DIR/mcp.port" --log "$TEST_DIR/mcp-server.log"
MCP_PORT=$(_wait_port "$TEST_DIR/mcp.port" "$LAST_PID") || fail "MCP server did not start"
BATON_MCP_URL=http://127.0.0.1:$MCP_PORT/mcp _bg w-mcp "$BIN/baton-worker-mcp" --queue mcp --concurrency 2

ctl start llm-call --id t86-off \
  --input '{"messages":[{"role":"user","content":"secret-prompt one"}]}' >/dev/null
out=$(run_out t86-off)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "traced reply" "the model call"
ctl start http-call --id t86-http --input "{\"url\":\"$TOOL_URL/echo\"}" >/dev/null
out=$(run_out t86-http)
assert_eq "$(jq_py "$out" 'j["response"]["status"]')" 200 "the tool call"
HTTP_TP=$(jq_py "$out" '{k.lower(): v for k, v in j["response"]["body"]["headers"].items()}.get("traceparent", "-")')
ctl start mcp-tools --id t86-mcp \
  --input '{"call":{"name":"search_notes","arguments":{"query":"durable"}}}' >/dev/null
out=$(run_out t86-mcp)
assert_eq "$(jq_py "$out" 'j["result"]["name"]')" search_notes "the MCP tool call"
MCP_TP=$(sed -n 's/^.*tools\/call search_notes .* traceparent=\([^ ]*\).*$/\1/p' "$TEST_DIR/mcp-server.log" | head -1)
proc_stop "$WLLM" || fail "the llm worker exited non-zero"
llm_worker_up w-llm-content --concurrency 2 \
  --config "$(worker_conf w-llm-content tracing.genai.content=1)"
ctl start llm-call --id t86-on \
  --input '{"messages":[{"role":"user","content":"secret-prompt two"}]}' >/dev/null
out=$(run_out t86-on)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "traced reply" "the second model call"
pass "model and tool calls completed"

check() {
  HTTP_TP=$HTTP_TP MCP_TP=$MCP_TP /usr/bin/python3 - "$SPANS" "$@" <<'PY'
import json, os, sys
final = len(sys.argv) > 2
spans = []
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    lines = []
for line in lines:
    for rs in json.loads(line)["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                s["attrs"] = {a["key"]: list(a["value"].values())[0] for a in s.get("attributes", [])}
                spans.append(s)
def fail(msg):
    if final: print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)
def exec_of(wf):
    got = [s for s in spans if s["attrs"].get("baton.workflow.id") == wf and
           s["attrs"].get("baton.worker.id")]
    if len(got) != 1: fail("%d execution spans of %s" % (len(got), wf))
    return got[0]
ids = {s["spanId"]: s for s in spans}
for wf in ("t86-off", "t86-on"):
    s = exec_of(wf)
    a = s["attrs"]
    want = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "scripted-model",
            "gen_ai.response.model": "scripted-model",
            "gen_ai.usage.input_tokens": "12", "gen_ai.usage.output_tokens": "6"}
    for k, v in want.items():
        if a.get(k) != v: fail("%s: %s = %r, expected %r" % (wf, k, a.get(k), v))
    if s["name"] != "chat scripted-model": fail("%s: span name %r" % (wf, s["name"]))
    p = ids.get(s.get("parentSpanId"))
    if not p or p["name"] != "activity llm.chat": fail("%s: parent is not the activity span" % wf)
off, on = exec_of("t86-off")["attrs"], exec_of("t86-on")["attrs"]
if any("secret-prompt" in str(v) for v in off.values()): fail("content in a span with content off")
if "secret-prompt two" not in on.get("gen_ai.input.messages", ""): fail("no input messages with content on")
if "traced reply" not in on.get("gen_ai.output.messages", ""): fail("no output messages with content on")
h = exec_of("t86-http")
a = h["attrs"]
if (a.get("gen_ai.operation.name"), a.get("http.request.method"), a.get("http.response.status_code"),
    a.get("server.address")) != ("execute_tool", "GET", "200", "127.0.0.1"):
    fail("http span attributes: %s" % a)
if not h["name"].startswith("execute_tool "): fail("http span name %r" % h["name"])
def traceparent(s):
    return "00-%s-%s-xx" % (s["traceId"], s["spanId"])
def same(tp, s):
    return tp.split("-")[1:3] == [s["traceId"], s["spanId"]]
if not same(os.environ["HTTP_TP"], h):
    fail("the tool server got traceparent %r, the execute_tool span is %s"
         % (os.environ["HTTP_TP"], traceparent(h)))
m = [s for s in spans if s["attrs"].get("baton.workflow.id") == "t86-mcp" and
     s["name"].startswith("execute_tool ")]
if len(m) != 1: fail("%d execute_tool spans of t86-mcp" % len(m))
if not same(os.environ["MCP_TP"], m[0]):
    fail("the MCP server got traceparent %r, the execute_tool span is %s"
         % (os.environ["MCP_TP"], traceparent(m[0])))
print("%d spans, GenAI attributes right" % len(spans))
PY
}
wait_until 30 "the workers' spans reached the receiver" check
check final || fail "the GenAI spans are wrong"
pass "chat and execute_tool spans with the GenAI attributes, content only when on"
pass "the HTTP and MCP servers got the execute_tool spans as traceparent ($HTTP_TP, $MCP_TP)"
! grep -q -- "$API_KEY" "$SPANS" || fail "the API key is in a span"
pass "the API key is in no span"
