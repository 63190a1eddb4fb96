#!/usr/bin/python3
"""tool_server.py -- a loopback HTTP API for the HTTP and agent tests: it
honours Idempotency-Key (a repeated key gets the first response again and
the effect is not applied twice) and counts everything it saw.

  tool_server.py --port-file FILE [--log FILE]

Standard library only (ThreadingHTTPServer, started by loopback_http.py of
this folder), run under /usr/bin/python3.

  POST /charge[?delay_ms=N]  applies a "charge" once per Idempotency-Key
                             (the effect happens on receipt, the answer
                             comes delay_ms later: a client killed while
                             waiting has already charged); a repeat gets
                             the stored answer with "replayed": true
  ANY  /echo                 {"method", "path", "headers", "body"}
  GET  /status/NNN           answers NNN ({"status": NNN}); 429 and 503
                             carry Retry-After: 1
  GET  /flaky?n=K            429 (Retry-After: 2) for the first K requests
                             with the same Idempotency-Key, then 200
  GET  /big?n=N              N bytes of 'x'
  POST /tools/add            {"a", "b"} -> {"sum"}
  POST /tools/weather        {"city"} -> {"city", "forecast"}
  POST /tools/web_search     {"query"} -> {"query", "results": [{"title",
                             "url", "snippet"}]}: a canned page of results
                             (the demo agent's search engine)
  GET  /stats                {"requests": N, "applied": {key: times the
                             effect ran}, "seen": {key: requests},
                             "auth": [Authorization headers of /echo]}
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import loopback_http

LOCK = threading.Lock()
STATS = {"requests": 0, "applied": {}, "seen": {}, "auth": []}
ANSWERS = {}
log = loopback_http.Log()
WEB_RESULTS = [
    {"title": "Durable execution, explained", "url": "https://example.org/durable",
     "snippet": "Workflows whose steps survive crashes: each result is "
                "recorded, so a restarted run resumes instead of starting over."},
    {"title": "Why agents need durable runtimes", "url": "https://example.org/agents",
     "snippet": "Long tool loops fail half way; without a history every "
                "retry pays for the model calls again."},
]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log(fmt % args)

    def reply(self, status, obj, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        loopback_http.send(self, status, data, headers)

    def handle_any(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        key = self.headers.get("Idempotency-Key")
        with LOCK:
            STATS["requests"] += 1
            if key:
                STATS["seen"][key] = STATS["seen"].get(key, 0) + 1
            seen = STATS["seen"].get(key, 0)
        try:
            args = json.loads(body) if body else {}
        except ValueError:
            args = {}
        if u.path == "/charge":
            with LOCK:
                first = key not in ANSWERS
                if first:
                    STATS["applied"][key] = STATS["applied"].get(key, 0) + 1
                    ANSWERS[key] = {"charged": args.get("amount"),
                                    "charge_id": "ch-%d" % len(ANSWERS)}
                answer = dict(ANSWERS[key], replayed=not first)
            time.sleep(int(q.get("delay_ms", 0)) / 1000.0)
            self.reply(200, answer)
        elif u.path == "/echo":
            with LOCK:
                STATS["auth"].append(self.headers.get("Authorization"))
            self.reply(200, {"method": self.command, "path": u.path,
                             "headers": dict(self.headers.items()),
                             "body": body})
        elif u.path.startswith("/status/"):
            st = int(u.path.split("/")[2])
            h = {"Retry-After": "1"} if st in (429, 503) else {}
            self.reply(st, {"status": st}, h)
        elif u.path == "/flaky":
            if seen <= int(q.get("n", 1)):
                self.reply(429, {"error": "slow down"}, {"Retry-After": "2"})
            else:
                self.reply(200, {"ok": True, "after": seen - 1})
        elif u.path == "/big":
            self.reply(200, None, raw=b"x" * int(q.get("n", 0)))
        elif u.path == "/tools/add":
            self.reply(200, {"sum": args.get("a", 0) + args.get("b", 0)})
        elif u.path == "/tools/weather":
            self.reply(200, {"city": args.get("city"), "forecast": "sunny"})
        elif u.path == "/tools/web_search":
            self.reply(200, {"query": args.get("query"),
                             "results": WEB_RESULTS})
        elif u.path == "/stats":
            with LOCK:
                self.reply(200, STATS)
        else:
            self.reply(404, {"error": "not found"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


def main():
    args = loopback_http.arguments(__doc__).parse_args()
    return loopback_http.run(Handler, args, log)


if __name__ == "__main__":
    sys.exit(main())
