#!/usr/bin/python3
"""model_server.py -- a scripted model server for Baton's tests and demo.

Serves the two chat APIs baton-worker-llm speaks, on a loopback port it
picks, from a script of replies, and counts every call it served, so a test
can prove that no completed call was paid for twice:

  POST /v1/chat/completions   OpenAI-compatible (also "stream": true, SSE
                              "data:" chunks ending with "data: [DONE]")
  POST /v1/messages           Anthropic Messages (also "stream": true, SSE
                              events message_start ... message_stop)
  GET  /calls                 the call log as JSON (below)

Python's standard library only (ThreadingHTTPServer, started by the
shared loopback_http.py of this folder), so it runs under
/usr/bin/python3 on a fresh machine with no package to install: the
behaviours a test needs (delays, dropped connections, broken bodies,
headers) are a few lines each here, while a C server on libmicrohttpd would
add a dependency the build does not have.

  model_server.py --script FILE --port-file FILE [--api-key KEY]
                  [--log FILE]

--api-key: the key every request must carry (OpenAI: "Authorization:
Bearer KEY"; Anthropic: "x-api-key: KEY"); a request without it gets 401
and is counted with "auth_failed".  --port-file receives the port once the
server listens.

The script is a JSON object {"rules": [RULE, ...]}.  For each request the
server takes the first rule whose "times" are not used up (default 1, -1 =
unlimited) and whose "match" (optional) is a substring of the request body;
no rule left: 500 {"error": "script exhausted"}.  A RULE's reply:

  status          HTTP status (default 200)
  headers         extra response headers, e.g. {"Retry-After": "1"},
                  {"retry-after-ms": "300"},
                  {"x-ratelimit-reset-requests": "1.5s"}
  text            the assistant's text
  chunks          the text as streamed pieces (default: text in 3 pieces)
  tool_calls      [{"id", "name", "arguments": OBJECT or raw STRING}]
                  (a string is sent as is: "{oops" makes invalid arguments)
  finish_reason   OpenAI names (stop, tool_calls, length, content_filter);
                  mapped to Anthropic's (end_turn, tool_use, max_tokens,
                  refusal); default: tool_calls when there are tool calls
  usage           {"input", "output", "cached", "reasoning"} token counts
  error           {"type", "code", "message"}: an error body (with status)
  body            a raw body sent instead of the generated one (malformed
                  JSON: "{not json")
  delay_ms        wait before answering (a slow model)
  chunk_delay_ms  wait between streamed events (a slow stream)
  cut_after       close a stream after this many events (no end: a
                  connection lost mid-reply); the call counts completed

Call log (GET /calls): {"served": N, "completed": N, "ok_completed": N,
"calls": [{"n", "t_ms" (arrival), "t_end_ms" (reply written or given up; absent
while in progress), "api", "rule", "status", "stream", "completed",
"auth_failed", "match"}]}: "completed" is true once the whole reply was
written (false when the client went away first, e.g. a killed worker);
"ok_completed" counts completed 200 replies: the calls somebody paid for.
"""
import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

import loopback_http

LOCK = threading.Lock()
STATE = {"rules": [], "used": [], "calls": []}
API_KEY = None
log = loopback_http.Log()

OPENAI_TO_ANTHROPIC = {"stop": "end_turn", "tool_calls": "tool_use",
                       "length": "max_tokens", "content_filter": "refusal"}


def pick_rule(body_text):
    """Index and rule of the first usable rule (marks one use), or None."""
    with LOCK:
        for i, rule in enumerate(STATE["rules"]):
            times = rule.get("times", 1)
            if times != -1 and STATE["used"][i] >= times:
                continue
            if "match" in rule and rule["match"] not in body_text:
                continue
            STATE["used"][i] += 1
            return i, rule
    return None, None


def split_text(text, chunks):
    if chunks is not None:
        return chunks
    if not text:
        return []
    n = max(1, len(text) // 3)
    return [text[i:i + n] for i in range(0, len(text), n)]


def finish_of(rule):
    if "finish_reason" in rule:
        return rule["finish_reason"]
    return "tool_calls" if rule.get("tool_calls") else "stop"


def args_text(call):
    a = call.get("arguments", {})
    return a if isinstance(a, str) else json.dumps(a)


def usage_of(rule):
    u = rule.get("usage", {})
    return (u.get("input", 10), u.get("output", 5), u.get("cached", 0),
            u.get("reasoning", 0))


# ---- OpenAI -------------------------------------------------------------

def openai_body(rule, model):
    msg = {"role": "assistant", "content": rule.get("text")}
    if rule.get("tool_calls"):
        msg["tool_calls"] = [{"id": c["id"], "type": "function",
                              "function": {"name": c["name"],
                                           "arguments": args_text(c)}}
                             for c in rule["tool_calls"]]
    i, o, c, r = usage_of(rule)
    return {"id": "chatcmpl-scripted", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": msg,
                         "finish_reason": finish_of(rule)}],
            "usage": {"prompt_tokens": i, "completion_tokens": o,
                      "total_tokens": i + o,
                      "prompt_tokens_details": {"cached_tokens": c},
                      "completion_tokens_details": {"reasoning_tokens": r}}}


def openai_events(rule, model, include_usage):
    def chunk(delta, finish=None):
        return {"id": "chatcmpl-scripted", "object": "chat.completion.chunk",
                "model": model, "choices": [{"index": 0, "delta": delta,
                                             "finish_reason": finish}]}
    yield None, chunk({"role": "assistant", "content": ""})
    for piece in split_text(rule.get("text"), rule.get("chunks")):
        yield None, chunk({"content": piece})
    for k, c in enumerate(rule.get("tool_calls") or []):
        yield None, chunk({"tool_calls": [{"index": k, "id": c["id"],
                                           "type": "function",
                                           "function": {"name": c["name"],
                                                        "arguments": ""}}]})
        a = args_text(c)
        half = len(a) // 2
        for part in (a[:half], a[half:]):
            yield None, chunk({"tool_calls": [{"index": k, "function":
                                               {"arguments": part}}]})
    yield None, chunk({}, finish_of(rule))
    if include_usage:
        body = openai_body(rule, model)
        yield None, {"id": "chatcmpl-scripted", "choices": [],
                     "usage": body["usage"]}
    yield None, "[DONE]"


# ---- Anthropic ----------------------------------------------------------

def anthropic_stop(rule):
    f = finish_of(rule)
    return OPENAI_TO_ANTHROPIC.get(f, f)


def anthropic_body(rule, model):
    content = []
    if rule.get("text"):
        content.append({"type": "text", "text": rule["text"]})
    for c in rule.get("tool_calls") or []:
        a = c.get("arguments", {})
        content.append({"type": "tool_use", "id": c["id"], "name": c["name"],
                        "input": a})
    i, o, c, _ = usage_of(rule)
    return {"id": "msg_scripted", "type": "message", "role": "assistant",
            "model": model, "content": content,
            "stop_reason": anthropic_stop(rule), "stop_sequence": None,
            "usage": {"input_tokens": i, "output_tokens": o,
                      "cache_read_input_tokens": c,
                      "cache_creation_input_tokens": 0}}


def anthropic_events(rule, model):
    i, o, c, _ = usage_of(rule)
    start = anthropic_body(rule, model)
    start["content"] = []
    start["stop_reason"] = None
    start["usage"]["output_tokens"] = 1
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    idx = 0
    pieces = split_text(rule.get("text"), rule.get("chunks"))
    if pieces:
        yield "content_block_start", {"type": "content_block_start",
                                      "index": idx, "content_block":
                                      {"type": "text", "text": ""}}
        for p in pieces:
            yield "content_block_delta", {"type": "content_block_delta",
                                          "index": idx, "delta":
                                          {"type": "text_delta", "text": p}}
        yield "content_block_stop", {"type": "content_block_stop",
                                     "index": idx}
        idx += 1
    for call in rule.get("tool_calls") or []:
        yield "content_block_start", {"type": "content_block_start",
                                      "index": idx, "content_block":
                                      {"type": "tool_use", "id": call["id"],
                                       "name": call["name"], "input": {}}}
        a = args_text(call)
        half = len(a) // 2
        for part in (a[:half], a[half:]):
            yield "content_block_delta", {"type": "content_block_delta",
                                          "index": idx, "delta":
                                          {"type": "input_json_delta",
                                           "partial_json": part}}
        yield "content_block_stop", {"type": "content_block_stop",
                                     "index": idx}
        idx += 1
    yield "message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": anthropic_stop(rule),
                                      "stop_sequence": None},
                            "usage": {"output_tokens": o}}
    yield "message_stop", {"type": "message_stop"}


# ---- the handler --------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log("%s %s" % (self.address_string(), fmt % args))

    def send_json(self, status, obj, headers=None):
        data = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        loopback_http.send(self, status, data, headers)

    def do_GET(self):
        if self.path != "/calls":
            self.send_json(404, {"error": "not found"})
            return
        with LOCK:
            calls = list(STATE["calls"])
        self.send_json(200, {
            "served": len(calls),
            "completed": sum(1 for c in calls if c["completed"]),
            "ok_completed": sum(1 for c in calls
                                if c["completed"] and c["status"] == 200),
            "calls": calls})

    def do_POST(self):
        if self.path == "/v1/chat/completions":
            api = "openai"
        elif self.path == "/v1/messages":
            api = "anthropic"
        else:
            self.send_json(404, {"error": "not found"})
            return
        n = int(self.headers.get("Content-Length") or 0)
        body_text = self.rfile.read(n).decode("utf-8", "replace")
        call = {"t_ms": int(time.time() * 1000), "api": api, "rule": None,
                "status": None, "stream": False,
                "completed": False, "auth_failed": False, "match": None}
        with LOCK:
            call["n"] = len(STATE["calls"]) + 1
            STATE["calls"].append(call)
        try:
            self.serve(api, body_text, call)
        except (BrokenPipeError, ConnectionResetError) as e:
            log("call %d: client went away: %s" % (call["n"], e))
            self.close_connection = True
        finally:
            call["t_end_ms"] = int(time.time() * 1000)

    def client_gone(self):
        """True when the client closed its end (a peek reads EOF)."""
        r, _, _ = select.select([self.connection], [], [], 0)
        if not r:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def check_key(self, api):
        if API_KEY is None:
            return True
        if api == "openai":
            return self.headers.get("Authorization") == "Bearer " + API_KEY
        return self.headers.get("x-api-key") == API_KEY

    def serve(self, api, body_text, call):
        if not self.check_key(api):
            call.update(status=401, auth_failed=True)
            self.send_json(401, {"error": {"type": "authentication_error",
                                           "message": "invalid api key"}})
            call["completed"] = True
            return
        try:
            req = json.loads(body_text)
        except ValueError:
            call["status"] = 400
            self.send_json(400, {"error": {"type": "invalid_request_error",
                                           "message": "body is not JSON"}})
            call["completed"] = True
            return
        idx, rule = pick_rule(body_text)
        call["rule"] = idx
        if rule is None:
            call["status"] = 500
            self.send_json(500, {"error": {"type": "server_error",
                                           "message": "script exhausted"}})
            call["completed"] = True
            return
        call["match"] = rule.get("match")
        status = rule.get("status", 200)
        call["status"] = status
        log("call %d (%s): rule %d status %d" % (call["n"], api, idx, status))
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)
            if self.client_gone():  # timed out meanwhile: nothing served
                log("call %d: the client left during the delay" % call["n"])
                self.close_connection = True
                return
        model = req.get("model", "scripted")
        headers = rule.get("headers", {})
        if status != 200:
            err = rule.get("error", {"type": "server_error",
                                     "message": "scripted error"})
            self.send_json(status, rule.get("body", {"error": err}), headers)
        elif "body" in rule:
            self.send_json(200, rule["body"], headers)
        elif req.get("stream"):
            call["stream"] = True
            self.stream(api, rule, model, req, headers)
        elif api == "openai":
            self.send_json(200, openai_body(rule, model), headers)
        else:
            self.send_json(200, anthropic_body(rule, model), headers)
        call["completed"] = True

    def stream(self, api, rule, model, req, headers):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.end_headers()
        self.close_connection = True
        if api == "openai":
            inc = (req.get("stream_options") or {}).get("include_usage")
            events = openai_events(rule, model, inc)
        else:
            events = anthropic_events(rule, model)
        delay = rule.get("chunk_delay_ms", 0) / 1000.0
        cut = rule.get("cut_after")
        for k, (name, data) in enumerate(events):
            if cut is not None and k >= cut:
                break
            text = data if isinstance(data, str) else json.dumps(data)
            out = ("event: %s\n" % name if name else "") + \
                "data: %s\n\n" % text
            self.wfile.write(out.encode())
            self.wfile.flush()
            if delay:
                time.sleep(delay)


def main():
    global API_KEY
    ap = loopback_http.arguments(__doc__)
    ap.add_argument("--script", required=True)
    ap.add_argument("--api-key")
    a = ap.parse_args()
    with open(a.script) as f:
        STATE["rules"] = json.load(f)["rules"]
    STATE["used"] = [0] * len(STATE["rules"])
    API_KEY = a.api_key
    return loopback_http.run(Handler, a, log)


if __name__ == "__main__":
    sys.exit(main())
