#!/usr/bin/env bash
# The bytes of a stream on the wire: an HTTP/1.1 stream is a well-formed chunked body (a chunk
# per frame, the terminating chunk at the end) also when frames are larger than the socket
# takes at once and queue behind each other for a slow reader; an HTTP/1.0 stream carries the
# same frames without chunk framing. Every stream gets every event once, in order, and the
# shutdown frame last.
. "$(dirname "$0")/lib.sh"

start_server --heartbeat 1h --stream-buffer 16777216
python3 - "$URL" "$LIB" >"$T_DIR/wire.out" <<'PY' &
import json, socket, sys, time
sys.path.insert(0, sys.argv[2])
import sse
url = sys.argv[1]
host, port = sse.addr(url)
sse.ensure_tracker(url, "w")
fast = sse.open_stream(url, "/api/trackers/w/events")
slow = sse.open_stream(url, "/api/trackers/w/events", rcvbuf=4096)
old = socket.create_connection((host, port), timeout=5)
old.sendall(("GET /api/trackers/w/events HTTP/1.0\r\nHost: %s:%d\r\n\r\n" % (host, port)).encode())
# sizes around and far beyond what one send() takes, and more in all than the kernel buffers
# for a reader that does not read: partial writes, then a queue
sizes = [10, 70000, 5, 900000, 1, 900000, 64, 900000, 900000, 900000, 900000, 900000, 3]
for i, n in enumerate(sizes):
    sse.post_item(url, "w", "%d:%s" % (i, "x" * n))
print("published", flush=True)
# the slow reader only starts reading now: everything above waited for it
def texts(s):
    out = []
    while len(out) < len(sizes):
        f = s.next_event(20)
        if f.get("event") == "item.add":
            out.append(json.loads("\n".join(f["data"]))["text"])
    return out
want = ["%d:%s" % (i, "x" * n) for i, n in enumerate(sizes)]
for name, s in (("fast", fast), ("slow", slow)):
    if texts(s) != want:
        sse.die("%s stream: events missing, repeated or out of order" % name)
print("streams ok", flush=True)
# HTTP/1.0: read to the end (the server closes at shutdown)
old.settimeout(30)
raw = b""
while True:
    d = old.recv(65536)
    if not d:
        break
    raw += d
    if b"shutdown" in raw and raw.endswith(b"\n\n"):
        break
head, body = raw.split(b"\r\n\r\n", 1)
if b"transfer-encoding" in head.lower():
    sse.die("an HTTP/1.0 reply announced chunks: %r" % head)
if not body.startswith(b"retry: "):
    sse.die("HTTP/1.0 body does not start with the retry frame: %r" % body[:40])
items = [json.loads(l[6:]) for l in body.decode().split("\n") if l.startswith("data: {")]
if [o["text"] for o in items if "text" in o] != want or items[-1] != {"reason": "shutdown"}:
    sse.die("HTTP/1.0 stream: events missing, repeated, out of order or framed")
# both chunked streams end with the shutdown frame and the terminating chunk
for name, s in (("fast", fast), ("slow", slow)):
    end = time.monotonic() + 10
    while not s.ended and time.monotonic() < end:
        s.pump(0.2)
    if not s.ended:
        sse.die("%s stream: no terminating chunk" % name)
    if b"event: shutdown" not in s.body or s.raw:
        sse.die("%s stream: no shutdown frame, or bytes after the last chunk" % name)
print("ok wire", flush=True)
PY
py=$!
for _ in $(seq 1 300); do
    grep -q "^streams ok" "$T_DIR/wire.out" && break
    kill -0 "$py" 2>/dev/null || break
    sleep 0.1
done
grep -q "^streams ok" "$T_DIR/wire.out" || { wait "$py"; fail "the streams did not get their events"; }
kill -TERM "$SRV_PID"
wait "$py" || fail "wire check failed"
grep -q "^ok wire" "$T_DIR/wire.out" || fail "wire check did not finish"
wait_exit 10
t_done
