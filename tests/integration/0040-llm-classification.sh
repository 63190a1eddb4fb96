#!/usr/bin/env bash
# 0040: baton-worker-llm against the scripted model server, both APIs,
# streamed and whole: text and tool calls come back parsed with their
# usage; a 429 with Retry-After is retried after the hint (not the state's
# 1 s interval) and then succeeds; a 400, an insufficient_quota 429, a
# content-filter stop and invalid tool-call arguments are final and caught
# (one call each, no retry); a 503, a malformed body, a stream cut short
# and a time-out are retried; a whole reply to a streamed request is read;
# the
# server counted exactly the calls the runs needed, and the API key appears
# in no log, history or result.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agents-lib.sh"
cat >"$TEST_DIR/script.json" <<'JSON'
{"rules": [
 {"match": "case-text", "times": 2, "text": "Hello there, durable world!",
  "usage": {"input": 12, "output": 6, "cached": 3, "reasoning": 2}},
 {"match": "case-anthropic", "times": 2, "text": "Bonjour", "tool_calls": [
   {"id": "tu_1", "name": "lookup", "arguments": {"q": "baton", "n": 2}}],
  "usage": {"input": 20, "output": 9, "cached": 4}},
 {"match": "case-tools", "tool_calls": [
   {"id": "c1", "name": "add", "arguments": {"a": 1, "b": 2}},
   {"id": "c2", "name": "mul", "arguments": {"a": 3, "b": 4}}]},
 {"match": "case-429", "status": 429, "headers": {"Retry-After": "3"},
  "error": {"type": "requests", "code": "rate_limit_exceeded", "message": "slow down"}},
 {"match": "case-429", "text": "after the wait"},
 {"match": "case-ms", "status": 429, "headers": {"retry-after-ms": "2500"},
  "error": {"type": "rate_limit_error", "message": "slow down"}},
 {"match": "case-ms", "status": 503, "headers": {"x-ratelimit-reset-requests": "2.5s"}},
 {"match": "case-ms", "text": "third time lucky"},
 {"match": "case-400", "status": 400,
  "error": {"type": "invalid_request_error", "message": "bad temperature"}},
 {"match": "case-quota", "status": 429,
  "error": {"type": "insufficient_quota", "code": "insufficient_quota", "message": "out of credit"}},
 {"match": "case-filter", "text": "I cannot", "finish_reason": "content_filter"},
 {"match": "case-badargs", "tool_calls": [{"id": "c9", "name": "f", "arguments": "{oops"}]},
 {"match": "case-malformed", "body": "{not json"},
 {"match": "case-malformed", "text": "well formed now"},
 {"match": "case-nostream", "body": {"model": "m", "choices": [{"index": 0,
   "message": {"role": "assistant", "content": "whole after all"},
   "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 3}}},
 {"match": "case-cut", "text": "cut short, then complete", "cut_after": 2},
 {"match": "case-cut", "text": "cut short, then complete"},
 {"match": "case-slow", "delay_ms": 3500, "text": "too late"},
 {"match": "case-slow", "text": "in time"}
]}
JSON
model_server_up "$TEST_DIR/script.json"
agents_up
llm_worker_up w-llm --concurrency 8 --config "$(worker_conf w-llm llm.timeout.ms=2000)"
start() { # ID PROMPT [EXTRA_JSON_FIELDS]
  ctl start llm-call --id "$1" --input "{\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}]${3:-}}" >/dev/null
}
start t40-text case-text
start t40-whole case-text-whole ',"stream":false'
start t40-anth case-anthropic ',"provider":"anthropic","tools":[{"name":"lookup","parameters":{"type":"object"}}]'
start t40-anthw case-anthropic-whole ',"provider":"anthropic","stream":false'
start t40-tools case-tools ',"tools":[{"type":"function","function":{"name":"add"}},{"name":"mul"}],"tool_choice":"required"'
start t40-429 case-429
start t40-ms case-ms ',"provider":"anthropic"'
start t40-400 case-400
start t40-quota case-quota
start t40-filter case-filter
start t40-badargs case-badargs
start t40-malformed case-malformed ',"stream":false'
start t40-nostream case-nostream
start t40-cut case-cut
start t40-slow case-slow

out=$(run_out t40-text)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "Hello there, durable world!" "streamed text"
assert_eq "$(jq_py "$out" 'j["reply"]["usage"]')" \
  '{"input_tokens": 12, "output_tokens": 6, "cached_tokens": 3, "reasoning_tokens": 2}' "usage"
assert_eq "$(jq_py "$out" '[j["reply"]["finish_reason"], j["reply"]["model"], j["reply"]["provider"], j["reply"]["tool_calls"]]')" \
  '["stop", "scripted-model", "openai", []]' "finish, model, provider"
pass "OpenAI streamed text with usage"
out=$(run_out t40-whole)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "Hello there, durable world!" "whole text"
pass "OpenAI whole reply"
for id in t40-anth t40-anthw; do
  out=$(run_out $id)
  assert_eq "$(jq_py "$out" '[j["reply"]["content"], j["reply"]["tool_calls"], j["reply"]["finish_reason"], j["reply"]["usage"]["cached_tokens"], j["reply"]["provider"]]')" \
    '["Bonjour", [{"id": "tu_1", "type": "function", "name": "lookup", "arguments": {"q": "baton", "n": 2}}], "tool_calls", 4, "anthropic"]' "anthropic reply of $id"
done
pass "Anthropic text and tool_use, streamed and whole, in the one result shape"
out=$(run_out t40-tools)
assert_eq "$(jq_py "$out" '[(c["name"], c["arguments"]) for c in j["reply"]["tool_calls"]]')" \
  '[["add", {"a": 1, "b": 2}], ["mul", {"a": 3, "b": 4}]]' "parsed tool calls"
pass "two streamed tool calls with parsed arguments"

out=$(run_out t40-429)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "after the wait" "429 then success"
calls=$(model_calls)
gap=$(jq_py "$calls" '[c["t_ms"] for c in j["calls"] if c["match"] == "case-429"]')
assert_eq "$(jq_py "$gap" 'str(len(j)) + " " + str(j[1] - j[0] >= 2900)')" "2 True" "429 retried after Retry-After (3 s), calls at $gap"
hist=$(ctl history t40-429 -o json)
assert_eq "$(jq_py "$hist" '[e["data"].get("retry_after_ms") for e in j if e["type"] == "ActivityFailed"]')" \
  "[3000]" "retry hint recorded in the history"
pass "a 429 is retried after the Retry-After hint, then succeeds"
out=$(run_out t40-ms)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "third time lucky" "retry-after-ms and x-ratelimit-reset"
gap=$(jq_py "$(model_calls)" '[c["t_ms"] for c in j["calls"] if c["match"] == "case-ms"]')
assert_eq "$(jq_py "$gap" '[len(j), j[1] - j[0] >= 2400, j[2] - j[1] >= 2400]')" "[3, true, true]" "hints of 2.5 s at $gap"
pass "retry-after-ms and x-ratelimit-reset-requests are retry hints (429, 503)"

final() { # ID ERROR
  local out
  out=$(run_out "$1")
  assert_eq "$(jq_py "$out" 'j["error"]["Error"]')" "$2" "error of $1"
  assert_eq "$(jq_py "$(model_calls)" "len([c for c in j['calls'] if c['match'] == 'case-${1#t40-}'])")" 1 "calls of $1"
  echo "$1: $(jq_py "$out" 'j["error"]["Cause"]')"
}
final t40-400 LLM.BadRequest
final t40-quota LLM.InsufficientQuota
final t40-filter LLM.ContentFilter
final t40-badargs LLM.BadToolArguments
out=$(run_out t40-badargs)
grep -q "not JSON" <<<"$out" || fail "the bad-arguments cause should say why: $out"
pass "400, insufficient_quota, content filter and bad tool arguments are final: one call each, caught"
out=$(run_out t40-malformed)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "well formed now" "malformed body retried"
pass "a malformed body is retried"
out=$(run_out t40-nostream)
assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "whole after all" "a server that ignores stream"
for c in "t40-cut LLM.ConnectionError cut short, then complete" "t40-slow LLM.Timeout in time"; do
  set -- $c
  id=$1 err=$2; shift 2
  out=$(run_out $id)
  assert_eq "$(jq_py "$out" 'j["reply"]["content"]')" "$*" "reply of $id"
  assert_eq "$(ctl history $id -o json | jq_py "$(cat)" '[e["data"]["error"] for e in j if e["type"] == "ActivityFailed"]')" "[\"$err\"]" "first attempt of $id"
done
pass "a whole reply to a streamed request is read; a stream cut short and a time-out (llm.timeout.ms) are retried"

calls=$(model_calls)
assert_eq "$(jq_py "$calls" '[j["served"], j["ok_completed"], len([c for c in j["calls"] if c["auth_failed"]])]')" \
  "[21, 15, 0]" "calls served, paid replies, key refused"
c=0
for id in $(ctl list -o json | jq_py "$(cat)" '" ".join(w["id"] for w in j)'); do
  n=$(ctl history "$id" -o json | jq_py "$(cat)" 'len([e for e in j if e["type"] == "ActivityCompleted"])')
  c=$((c + n))
done
assert_eq "$c" 11 "completed model calls in the histories (t40-filter/badargs are failures)"
assert_no_key
pass "every paid call served once; the API key is in no log, history or result"
