#!/usr/bin/python3
"""otlp-receiver.py -- the tests' OTLP/HTTP collector (tests/integration/0085):
accepts POST /v1/traces with a JSON body (ExportTraceServiceRequest) on a free
loopback port, appends each body as one line to OUT, answers 200 {}.  Writes
the port to PORTFILE once listening; exits 0 on SIGTERM, or by itself after
LIFETIME seconds (default 600) so that it never outlives a test.

    otlp-receiver.py OUT PORTFILE [LIFETIME]
"""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import loopback_http  # noqa: E402 (tests/tools, added just above)


def main():
    out, portfile = sys.argv[1], sys.argv[2]
    lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 600.0
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            ok = self.path == "/v1/traces" and \
                self.headers.get("Content-Type", "").startswith("application/json")
            try:
                doc = json.loads(body)
            except ValueError:
                ok = False
            if ok:
                with lock, open(out, "a") as f:
                    f.write(json.dumps(doc) + "\n")
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    srv = loopback_http.listen(Handler, portfile)
    stop = lambda *a: threading.Thread(target=srv.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    threading.Timer(lifetime, stop).start()
    srv.serve_forever()
    os._exit(0)


if __name__ == "__main__":
    main()
