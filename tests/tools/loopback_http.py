"""loopback_http.py -- the start-up every test HTTP server shares
(model_server.py, mcp_server.py and tool_server.py here, and
tests/integration/otlp-receiver.py): a ThreadingHTTPServer on a free port
of 127.0.0.1 whose number is written to a port file once it listens, a
timestamped log, and exit status 0 on SIGTERM (the tests' end check wants a
clean exit).  Standard library only, for /usr/bin/python3.

The servers run as scripts (`/usr/bin/python3 tests/tools/X.py`), so Python
puts this folder first on sys.path and `import loopback_http` works from any
working directory; a server in another folder adds this one to sys.path.

  log = Log(); log.open(path)   a line "HH:MM:SS msg" per log(msg), written
                                and flushed under a lock of its own (no-op
                                when path is None)
  ap = arguments(__doc__)       an ArgumentParser with --port-file FILE
                                (required) and --log FILE; add your own
  run(Handler, ap.parse_args(), log)
                                log.open(--log), listen, serve; returns 0
  srv = listen(Handler, file)   bound and listening; FILE holds the port
                                ("%d\n", written to FILE.tmp then renamed:
                                a reader never sees half a number)
  serve(srv, log)               logs the address, serves until SIGTERM
                                (exit 0) or ^C; returns 0
  send(h, status, data, headers, content_type)
                                one whole answer on handler h: status,
                                Content-Type (unless None), Content-Length,
                                the extra headers, the bytes data, flushed
"""
import argparse
import os
import signal
import sys
import threading
import time
from http.server import ThreadingHTTPServer


class Log:
    """A timestamped line log shared by a server's threads."""

    def __init__(self):
        self._f = None
        self._lock = threading.Lock()

    def open(self, path):
        if path:
            self._f = open(path, "a")

    def __call__(self, msg):
        if self._f:
            with self._lock:
                self._f.write(time.strftime("%H:%M:%S ") + msg + "\n")
                self._f.flush()


def arguments(doc):
    """The options every server takes; the description is doc's first
    line."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    ap.add_argument("--port-file", required=True,
                    help="receives the port once the server listens")
    ap.add_argument("--log", help="append a timestamped log here")
    return ap


def run(handler, args, log):
    """Opens args.log, listens (args.port_file) and serves; returns 0."""
    log.open(args.log)
    return serve(listen(handler, args.port_file), log)


def send(h, status, data, headers=None, content_type="application/json"):
    """One whole answer of bytes data on the BaseHTTPRequestHandler h."""
    h.send_response(status)
    if content_type is not None:
        h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        h.send_header(k, str(v))
    h.end_headers()
    h.wfile.write(data)
    h.wfile.flush()


def listen(handler, port_file):
    """A ThreadingHTTPServer of handler on a free loopback port, listening,
    its port written to port_file."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, port_file)
    return srv


def serve(srv, log=None):
    """Serves srv until SIGTERM (exit status 0) or KeyboardInterrupt."""
    if log:
        log("listening on 127.0.0.1:%d" % srv.server_address[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a clean stop
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
