#!/usr/bin/env python3
"""Clients that hold connections to the server without finishing a request (slowloris).

As a module (the server tests):
    f = Flood(url, n)          n sockets, each having sent part of a request line
    f.closed_by_server()       how many of them the server has closed since
    f.close()

As a program (by hand, or to reproduce a flood of many processes' worth of sockets):
    flood.py hold URL N SECONDS [READY_FILE]
holds N half-sent connections for SECONDS (or until SIGTERM/SIGINT), writes "held N" to
READY_FILE (or stdout) once connected, and prints how many the server closed at the end.
Every wait is bounded.
"""
import resource
import select
import signal
import socket
import sys
import time
from urllib.parse import urlparse

PARTIAL = b"GET /healthz HTT"  # part of a request line, never finished


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        raise SystemExit("flood: %d sockets need %d descriptors, the hard limit is %d" %
                         (n, want, hard))


class Flood:
    def __init__(self, url, n, partial=PARTIAL, connect_timeout=5, deadline=60):
        u = urlparse(url)
        raise_nofile(n)
        self.socks = []
        self.failed = 0
        end = time.monotonic() + deadline
        for _ in range(n):
            if time.monotonic() > end:
                raise SystemExit("flood: %d of %d connected within %ds" %
                                 (len(self.socks), n, deadline))
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(connect_timeout)
            try:
                s.connect((u.hostname, u.port))
                s.sendall(partial)
            except OSError:
                # closed by the server before the partial request went out: it was evicted
                s.close()
                self.failed += 1
                continue
            self.socks.append(s)

    def closed_by_server(self):
        """Sockets the server has closed (EOF or reset); none of them sent a whole request."""
        p = select.poll()  # not select(): thousands of descriptors
        for s in self.socks:
            p.register(s, select.POLLIN)
        n = 0
        for fd, ev in p.poll(0):
            n += 1
        return n + self.failed

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []


def main():
    if len(sys.argv) < 5 or sys.argv[1] != "hold":
        raise SystemExit("usage: flood.py hold URL N SECONDS [READY_FILE]")
    url, n, secs = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    f = Flood(url, n, deadline=max(60, n / 100))
    msg = "held %d (%d closed while connecting)\n" % (len(f.socks), f.failed)
    if len(sys.argv) > 5:
        with open(sys.argv[5] + ".tmp", "w") as out:
            out.write(msg)
        import os
        os.rename(sys.argv[5] + ".tmp", sys.argv[5])
    else:
        sys.stdout.write(msg)
        sys.stdout.flush()
    end = time.monotonic() + secs
    while not stop and time.monotonic() < end:
        time.sleep(0.1)
    print("closed by the server: %d of %d" % (f.closed_by_server(), n))
    f.close()


if __name__ == "__main__":
    main()
