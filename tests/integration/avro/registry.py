#!/usr/bin/python3
"""registry.py -- a minimal Confluent-compatible Schema Registry on
loopback for the bridge's avro tests (tests/integration/0110-bridge-avro.sh)
and for trying format avro without a registry (docs/bridge.md "Avro").

Not a product: Apicurio Registry publishes no runnable jar to Maven Central
(only its Quarkus module jar), and Confluent's registry is not packaged for
Debian, so the test serves the REST subset the bridge uses itself:

  GET  /schemas/ids/{id}                    {"schema": "..."}      | 404
  GET  /subjects                            ["s", ...]
  GET  /subjects/{subject}/versions         [1, 2, ...]
  GET  /subjects/{subject}/versions/{v}     {"subject", "version", "id",
                                             "schema"} (v: n or latest)
  POST /subjects/{subject}/versions         {"schema": "..."} -> {"id": n}
                                            (the same text gets the same id)

Errors answer {"error_code": 40403 / 40401 / 40101, "message": ...} as
Confluent's does.  With --user and --password-file every request needs
HTTP basic auth (401 otherwise).  State lives in --state (JSON), so a
restarted registry serves the same ids.  Every request line is appended to
--log ("GET /schemas/ids/1 200"): the test counts fetches there.  The port
it listens on (--port 0: any free one) is written to --port-file.

usage: registry.py --state FILE --log FILE --port-file FILE [--port N]
                   [--user U --password-file F]
"""
import argparse
import base64
import json
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

LOCK = threading.Lock()


def load(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {"schemas": [], "subjects": {}}


def save(path, state):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)


class Handler(BaseHTTPRequestHandler):
    server_version = "baton-test-registry/1"

    def log_message(self, fmt, *args):  # quiet stderr
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type",
                         "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with LOCK, open(self.server.args.log, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path, code))

    def authorized(self):
        a = self.server.args
        if not a.user:
            return True
        want = base64.b64encode(("%s:%s" % (a.user, a.password)).encode())
        return self.headers.get("Authorization", "") == \
            "Basic " + want.decode()

    def not_found(self, code, what):
        self.reply(404, {"error_code": code, "message": what + " not found"})

    def do_GET(self):
        if not self.authorized():
            return self.reply(401, {"error_code": 40101,
                                    "message": "Unauthorized"})
        st = self.server.state
        m = re.fullmatch(r"/schemas/ids/(\d+)", self.path)
        if m:
            i = int(m.group(1))
            if 1 <= i <= len(st["schemas"]):
                return self.reply(200, {"schema": st["schemas"][i - 1]})
            return self.not_found(40403, "Schema")
        if self.path == "/subjects":
            return self.reply(200, sorted(st["subjects"]))
        m = re.fullmatch(r"/subjects/([^/]+)/versions(?:/(\w+))?", self.path)
        if m:
            subj = unquote(m.group(1))
            ids = st["subjects"].get(subj)
            if ids is None:
                return self.not_found(40401, "Subject")
            if m.group(2) is None:
                return self.reply(200, list(range(1, len(ids) + 1)))
            v = len(ids) if m.group(2) == "latest" else int(m.group(2))
            if not 1 <= v <= len(ids):
                return self.not_found(40402, "Version")
            return self.reply(200, {"subject": subj, "version": v,
                                    "id": ids[v - 1],
                                    "schema": st["schemas"][ids[v - 1] - 1]})
        self.not_found(404, "Path")

    def do_POST(self):
        if not self.authorized():
            return self.reply(401, {"error_code": 40101,
                                    "message": "Unauthorized"})
        m = re.fullmatch(r"/subjects/([^/]+)/versions", self.path)
        if not m:
            return self.not_found(404, "Path")
        body = json.loads(self.rfile.read(
            int(self.headers.get("Content-Length", "0"))))
        text = body["schema"]
        st = self.server.state
        with LOCK:
            if text in st["schemas"]:
                sid = st["schemas"].index(text) + 1
            else:
                st["schemas"].append(text)
                sid = len(st["schemas"])
            ids = st["subjects"].setdefault(unquote(m.group(1)), [])
            if sid not in ids:
                ids.append(sid)
            save(self.server.args.state, st)
        self.reply(200, {"id": sid})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user")
    ap.add_argument("--password-file")
    a = ap.parse_args()
    a.password = None
    if a.password_file:
        with open(a.password_file) as f:
            a.password = f.read().rstrip("\r\n")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.args, srv.state = a, load(a.state)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
