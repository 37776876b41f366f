#!/usr/bin/env bash
# Slow clients are cut at the request deadlines (conn.c), whatever they keep sending, and
# counted by reason; an SSE stream outlives them all.
#   half-sent request line, nothing more        header_timeout at --header-timeout
#   a header trickled one byte every 0.3 s      header_timeout at --header-timeout
#   a body trickled after complete headers      body_timeout at --body-timeout (from the headers)
#   a kept-alive connection left idle           keepalive_timeout at --keepalive-timeout
#   an SSE stream (heartbeats every 200 ms)     open 3 s later, still receiving
. "$(dirname "$0")/lib.sh"

start_server --header-timeout 1s --body-timeout 2s --keepalive-timeout 1s --heartbeat 200ms
base=$(fd_count)
$OUTER python3 - "$URL" "$LIB" <<'PY'
import socket, sys, threading, time
sys.path.insert(0, sys.argv[2])
import sse
url = sys.argv[1]
host, port = sse.addr(url)
sse.ensure_tracker(url, "bug")
SLACK = 1.5  # the tick (a fifth of the shortest deadline), a loaded machine

def until_closed(s, trickle=b"", every=0.3, bound=10):
    """Seconds until the server closes s; sends trickle one byte per `every` meanwhile."""
    t0 = time.monotonic()
    s.settimeout(every)
    i = 0
    while time.monotonic() - t0 < bound:
        try:
            d = s.recv(4096)
            if not d:
                return time.monotonic() - t0, b""
            return time.monotonic() - t0, d  # an answer: not what a deadline does
        except socket.timeout:
            pass
        except ConnectionResetError:
            return time.monotonic() - t0, b""
        if i < len(trickle):
            try:
                s.send(trickle[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - t0, b""
            i += 1
    sse.die("the server kept the connection %ds" % bound)

results = {}
def run(name, fn):
    try:
        results[name] = fn()
    except SystemExit as e:
        results[name] = e

def half_sent():
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b"GET /healthz HTT")
    return until_closed(s)

def trickle_header():
    s = socket.create_connection((host, port), timeout=5)
    # one byte every 0.3 s: evhttp's per-read timeout (--request-timeout) never fires
    return until_closed(s, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 100)

def trickle_body():
    s = socket.create_connection((host, port), timeout=5)
    time.sleep(0.5)  # the body's deadline runs from the end of the headers, not from accept
    s.sendall(b"POST /api/trackers/bug/items HTTP/1.1\r\nHost: localhost\r\n"
              b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"text\":")
    return until_closed(s, b"\"" + b"b" * 150)

def keepalive():
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    s.settimeout(5)
    got = b""
    while not got.endswith(b"ok"):
        d = s.recv(4096)
        if not d:
            sse.die("closed before the reply: %r" % got)
        got += d
    if not got.startswith(b"HTTP/1.1 200"):
        sse.die("keep-alive request answered %r" % got[:40])
    return until_closed(s)

stream = sse.open_stream(url, "/api/trackers/bug/events")
m0 = sse.metrics(url)
ts = [threading.Thread(target=run, args=(n, f)) for n, f in
      (("half_sent", half_sent), ("trickle_header", trickle_header),
       ("trickle_body", trickle_body), ("keepalive", keepalive))]
for t in ts:
    t.start()
for t in ts:
    t.join()
for name, want in (("half_sent", 1.0), ("trickle_header", 1.0), ("trickle_body", 2.0),
                   ("keepalive", 1.0)):
    r = results[name]
    if isinstance(r, SystemExit):
        sse.die("%s: %s" % (name, r))
    secs, got = r
    print("%-15s closed after %.2fs (deadline %.1fs)" % (name, secs, want))
    if got:
        sse.die("%s: answered instead of closed: %r" % (name, got[:60]))
    if not want - 0.2 <= secs <= want + SLACK:
        sse.die("%s: closed after %.2fs, deadline %.1fs" % (name, secs, want))

# the stream is older than every deadline and still delivers
t0 = time.monotonic()
hb = 0
while time.monotonic() - t0 < 1.0:
    if not stream.pump(0.3):
        sse.die("the stream was closed")
    hb += sum(1 for f in stream.frames() if f["comment"])
if hb == 0:
    sse.die("no heartbeat on the stream past the deadlines")
sse.post_item(url, "bug", "still streaming")
ev = stream.next_event(timeout=5)
if "still streaming" not in "".join(ev["data"]):
    sse.die("the stream got %r" % ev)
print("the stream, open %.1fs, still receives events" % (time.monotonic() - t0 + 3))

m = sse.metrics(url)
def delta(reason):
    k = 'flowtrack_connections_closed_total{reason="%s"}' % reason
    return m[k] - m0[k]
want = {"header_timeout": 2, "body_timeout": 1, "keepalive_timeout": 1, "evicted": 0}
for reason, n in want.items():
    print("closed{reason=%s}: %d" % (reason, delta(reason)))
    if delta(reason) != n:
        sse.die("%d connections closed as %s, expected %d" % (delta(reason), reason, n))
if m["flowtrack_streams_open"] != 1 or sse.closed(m, "client_closed") != 0:
    sse.die("the stream was ended")
stream.close()
PY
wait_fds "$base"
grep -q 'event=connections .*header_timeout=' "$T_DIR/server.log" ||
    fail "no 'connections' log line for the deadlines"

# 0 turns a deadline off: a half-sent request stays (until --request-timeout's silence).
stop_server
start_server --header-timeout 0 --request-timeout 3
$OUTER python3 - "$URL" "$LIB" <<'PY'
import socket, sys, time
sys.path.insert(0, sys.argv[2])
import sse
s = socket.create_connection(sse.addr(sys.argv[1]), timeout=5)
s.sendall(b"GET /healthz HTT")
s.settimeout(1.5)
try:
    d = s.recv(100)
    sse.die("closed with --header-timeout 0: %r" % d)
except socket.timeout:
    print("--header-timeout 0: kept")
s.close()
PY
stop_server
t_done
