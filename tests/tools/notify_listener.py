#!/usr/bin/python3
"""notify_listener.py -- a stand-in for systemd's notification socket: binds
a unix datagram socket at argv[1] and appends every datagram received (one
sd_notify(3) message, its lines joined by '|') with a monotonic time in
seconds to the file argv[2], one line each, until killed.  Used by
tests/integration/0090-sd-notify.sh."""
import os
import signal
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a clean stop
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
with open(out, "a", buffering=1) as f:
    print("listening", file=f)
    while True:
        data = sock.recv(4096).decode("utf-8", "replace")
        f.write("%.3f %s\n" % (time.monotonic(), data.strip().replace("\n", "|")))
