#!/usr/bin/env bash
# The other ends of a stream and its timers: heartbeats every --heartbeat (comments: no id, no
# event), a stream outlives 3x the request timeout, deleting its tracker ends a tracker stream
# as complete, --idle-timeout ends it as idle_timeout, --max-streams answers 503 with
# Retry-After and leaks nothing; /api/events carries every tracker (and the envelope on ask).
. "$(dirname "$0")/lib.sh"

start_server --heartbeat 200ms --request-timeout 1 --max-streams 3
python3 - "$URL" "$LIB" <<'PY'
import json, sys, time
sys.path.insert(0, sys.argv[2])
import sse
url = sys.argv[1]
sse.ensure_tracker(url, "a")
sse.ensure_tracker(url, "b")
s = sse.open_stream(url, "/api/trackers/a/events")
allev = sse.open_stream(url, "/api/events")
env = sse.open_stream(url, "/api/events?envelope=1")
# heartbeats: 3.5 s (3x the 1 s request timeout and more) of comment frames, ~200 ms apart
beats, t0 = [], time.monotonic()
while time.monotonic() - t0 < 3.5:
    s.pump(0.05)
    for f in s.frames():
        if "hb" in f["comment"]:
            beats.append(time.monotonic())
        elif "event" in f or "id" in f:
            sse.die("a heartbeat carried an id or event: %r" % f)
    for x in (allev, env):
        x.pump(0)
if s.eof or len(beats) < 14:
    sse.die("stream ended or too few heartbeats: %d" % len(beats))
gaps = [b - a for a, b in zip(beats, beats[1:])]
if max(gaps) > 0.3 or min(gaps) < 0.1:
    sse.die("heartbeat gaps from %.3f to %.3f s" % (min(gaps), max(gaps)))
# limit: a fourth stream is refused
st, h, data = sse.request(url, "GET", "/api/events")
if st != 503 or h.get("Retry-After") != "5":
    sse.die("over --max-streams: %d %r" % (st, h))
# every tracker on /api/events; the envelope names the tracker
sse.post_item(url, "b", "on b")
f = allev.next_event(2)
if json.loads(f["data"][0])["text"] != "on b":
    sse.die("/api/events: %r" % f)
f = env.next_event(2)
e = json.loads(f["data"][0])
if e["slug"] != "b" or e["kind"] != "item.add" or e["payload"]["text"] != "on b" or e["seq"] != int(f["id"]):
    sse.die("envelope: %r" % e)
# deleting the tracker completes its stream (after the delete event)
m0 = sse.metrics(url)
st, _, _ = sse.request(url, "DELETE", "/api/trackers/a")
if st != 204:
    sse.die("delete: %d" % st)
f = s.next_event(2)
if f.get("event") != "tracker.delete":
    sse.die("no tracker.delete event: %r" % f)
end = time.monotonic() + 2
while s.pump(0.1) and time.monotonic() < end:
    pass
if not s.eof or not s.ended:
    sse.die("the stream of a deleted tracker did not end cleanly")
sse.wait_metric(url, lambda m: sse.closed(m, "complete") == sse.closed(m0, "complete") + 1, 1,
                "complete counted")
allev.close(); env.close()
sse.wait_metric(url, lambda m: m["flowtrack_streams_open"] == 0, 1, "freed")
m = sse.metrics(url)
if m["flowtrack_streams_rejected_total"] != 1:
    sse.die("rejected not counted")
print("ok heartbeats %d, gaps %.3f-%.3f s" % (len(beats), min(gaps), max(gaps)))
PY
stop_server

start_server --idle-timeout 300ms --heartbeat 100ms
python3 - "$URL" "$LIB" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[2])
import sse
url = sys.argv[1]
sse.ensure_tracker(url, "a")
s = sse.open_stream(url, "/api/trackers/a/events")
t0 = time.monotonic()
while s.pump(0.05) and time.monotonic() - t0 < 3:
    pass
dt = time.monotonic() - t0
if not s.ended or dt > 1.0:
    sse.die("idle stream not ended cleanly in time (%.2fs)" % dt)
sse.wait_metric(url, lambda m: sse.closed(m, "idle_timeout") == 1, 1, "idle_timeout counted")
print("ok idle timeout after %.2fs" % dt)
PY
stop_server

# A stream ended cleanly while its client does not read is not held forever: the last bytes
# get --write-timeout to go, then the connection is dropped (flushing back to 0).
start_server --idle-timeout 300ms --write-timeout 1s --stream-buffer 50000000
python3 - "$URL" "$LIB" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[2])
import sse
url = sys.argv[1]
sse.ensure_tracker(url, "a")
s = sse.open_stream(url, "/api/trackers/a/events", rcvbuf=4096)
for i in range(30):
    sse.post_item(url, "a", "q" * 100000)
m = sse.wait_metric(url, lambda m: sse.closed(m, "idle_timeout") == 1, 2, "idle end")
if m["flowtrack_stream_flushing"] != 1:
    sse.die("flushing %s after a clean end with output queued" % m["flowtrack_stream_flushing"])
t0 = time.monotonic()
sse.wait_metric(url, lambda m: m["flowtrack_stream_flushing"] == 0, 3, "flush bounded")
print("ok unread flush dropped after %.2fs" % (time.monotonic() - t0))
s.close()
PY
stop_server
t_done
