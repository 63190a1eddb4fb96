#!/usr/bin/python3
"""mcp_server.py -- a small loopback MCP server (a knowledge base) for
Baton's demo agent and tests, network-free: the npm server the MCP test
uses (0043, @modelcontextprotocol/server-everything) needs the npm
registry, this one needs nothing but Python's standard library.

  mcp_server.py --port-file FILE [--log FILE]

It speaks the subset of the Streamable HTTP transport (protocol revision
2025-06-18) that baton-worker-mcp uses, on one endpoint, POST /mcp, with
application/json answers:

  initialize                   a new session: the Mcp-Session-Id header
  notifications/initialized    202, no body (any notification: 202)
  tools/list                   the tools below (one page)
  tools/call                   a tool's result {"content": [{"type":
                               "text", "text"}], "isError"}; bad arguments
                               give isError true, an unknown tool the
                               JSON-RPC error -32602
  ping                         {}

A request other than initialize must carry a known Mcp-Session-Id (404
otherwise, as the spec says: the client starts a new session).  DELETE
/mcp ends a session; GET /mcp is 405 (no server-initiated stream).
GET /stats: {"requests", "sessions", "calls": {tool: count}}.  The log
(--log) has a line per tool call with the traceparent of its
params._meta ("-" when none), for the tracing test.

Tools (a tiny corpus on durable execution, the demo's topic):
  search_notes   {"query"}  -> ids and titles of the notes that match
  read_document  {"id"}     -> the text of one note
"""
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler

import loopback_http

PROTOCOL = "2025-06-18"
LOCK = threading.Lock()
STATS = {"requests": 0, "sessions": 0, "calls": {}}
SESSIONS = set()
log = loopback_http.Log()

DOCS = {
    "kb-replay": ("Replay and history",
                  "A durable engine records every step's result in the "
                  "run's history before the workflow moves on. After a "
                  "crash the run resumes from its last recorded step: "
                  "a completed model call is never made again, only the "
                  "calls in flight at the crash repeat."),
    "kb-budgets": ("Budgets for agents",
                   "Agent loops can spend without bound. A per-run budget "
                   "on tokens, model calls and cost, checked before each "
                   "call, stops a run that is about to exceed it with a "
                   "catchable error instead of a surprise invoice."),
    "kb-approval": ("Humans in the loop",
                    "An approval gate is a durable wait for a signal: the "
                    "run holds no thread and no memory while it waits, "
                    "for seconds or weeks, and goes on when a person "
                    "answers."),
}

TOOLS = [
    {"name": "search_notes",
     "description": "Searches the team's knowledge base of notes on "
                    "durable execution; returns note ids and titles.",
     "inputSchema": {"type": "object",
                     "properties": {"query": {"type": "string"}},
                     "required": ["query"]}},
    {"name": "read_document",
     "description": "Reads one note of the knowledge base by id "
                    "(e.g. kb-replay).",
     "inputSchema": {"type": "object",
                     "properties": {"id": {"type": "string"}},
                     "required": ["id"]}},
]


def text_result(text, is_error=False):
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


def search_notes(args):
    q = args.get("query")
    if not isinstance(q, str):
        return text_result("search_notes: query must be a string", True)
    words = [w for w in q.lower().split() if len(w) > 2]
    hits = [{"id": k, "title": t} for k, (t, body) in DOCS.items()
            if not words or any(w in (t + " " + body).lower() for w in words)]
    return text_result(json.dumps({"notes": hits or
                                   [{"id": k, "title": t}
                                    for k, (t, _) in DOCS.items()]}))


def read_document(args):
    doc = DOCS.get(args.get("id")) if isinstance(args.get("id"), str) else None
    if doc is None:
        return text_result("read_document: no note %r (ids: %s)" %
                           (args.get("id"), ", ".join(DOCS)), True)
    return text_result("%s (%s): %s" % (doc[0], args["id"], doc[1]))


HANDLERS = {"search_notes": search_notes, "read_document": read_document}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log(fmt % args)

    def answer(self, status, obj=None, headers=None):
        if obj is None:
            loopback_http.send(self, status, b"", headers, None)
        else:
            loopback_http.send(self, status, json.dumps(obj).encode(), headers)

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                self.answer(200, dict(STATS, calls=dict(STATS["calls"])))
        else:
            self.answer(405 if self.path == "/mcp" else 404,
                        {"error": "no server stream"})

    def do_DELETE(self):
        with LOCK:
            SESSIONS.discard(self.headers.get("Mcp-Session-Id"))
        self.answer(200 if self.path == "/mcp" else 404, {})

    def do_POST(self):
        if self.path != "/mcp":
            self.answer(404, {"error": "not found"})
            return
        n = int(self.headers.get("Content-Length") or 0)
        try:
            msg = json.loads(self.rfile.read(n).decode("utf-8", "replace"))
        except ValueError:
            self.answer(400, rpc_error(None, -32700, "parse error"))
            return
        with LOCK:
            STATS["requests"] += 1
        if not isinstance(msg, dict):
            self.answer(400, rpc_error(None, -32600, "one message only"))
            return
        method, mid = msg.get("method"), msg.get("id")
        if method == "initialize":
            sid = uuid.uuid4().hex
            with LOCK:
                SESSIONS.add(sid)
                STATS["sessions"] += 1
            log("session %s" % sid)
            self.answer(200, {"jsonrpc": "2.0", "id": mid, "result": {
                "protocolVersion": PROTOCOL,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "baton-kb", "version": "1.0"}}},
                {"Mcp-Session-Id": sid})
            return
        with LOCK:
            known = self.headers.get("Mcp-Session-Id") in SESSIONS
        if not known:
            self.answer(404, rpc_error(mid, -32001, "unknown session"))
            return
        if mid is None:  # a notification
            self.answer(202)
            return
        self.answer(200, dispatch(method, msg.get("params") or {}, mid))


def rpc_error(mid, code, message):
    return {"jsonrpc": "2.0", "id": mid,
            "error": {"code": code, "message": message}}


def dispatch(method, params, mid):
    if method == "ping":
        return {"jsonrpc": "2.0", "id": mid, "result": {}}
    if method == "tools/list":
        return {"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS}}
    if method != "tools/call":
        return rpc_error(mid, -32601, "method not found: %s" % method)
    name = params.get("name")
    fn = HANDLERS.get(name)
    if fn is None:
        return rpc_error(mid, -32602, "unknown tool: %s" % name)
    args = params.get("arguments") or {}
    with LOCK:
        STATS["calls"][name] = STATS["calls"].get(name, 0) + 1
    meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
    log("tools/call %s %s traceparent=%s"
        % (name, json.dumps(args), meta.get("traceparent", "-")))
    result = fn(args if isinstance(args, dict) else {})
    return {"jsonrpc": "2.0", "id": mid, "result": result}


def main():
    args = loopback_http.arguments(__doc__).parse_args()
    return loopback_http.run(Handler, args, log)


if __name__ == "__main__":
    sys.exit(main())
