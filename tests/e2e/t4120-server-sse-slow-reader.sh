#!/usr/bin/env bash
# A reader that stops reading (small receive buffer, never recv) hits the per-stream bound and
# is closed as slow_reader, the server's queued bytes stay bounded, and the other readers keep
# receiving every event promptly.
. "$(dirname "$0")/lib.sh"

start_server --stream-buffer 65536
sse slow-reader "$URL" bug 4
[ "$(metric 'flowtrack_streams_closed_total{reason="slow_reader"}')" = 1 ] ||
    fail "slow_reader not counted once"
[ "$(metric flowtrack_streams_open)" = 0 ] || fail "streams still open"
stop_server

# The write-stall timeout: a stalled reader whose queue stays under the bound is closed too.
start_server --stream-buffer 10000000 --write-timeout 500ms
python3 - "$URL" "$LIB" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[2])
import sse
url = sys.argv[1]
sse.ensure_tracker(url, "bug")
s = sse.open_stream(url, "/api/trackers/bug/events", rcvbuf=4096)
for i in range(60):
    sse.post_item(url, "bug", "w" * 50000)
sse.wait_metric(url, lambda m: sse.closed(m, "slow_reader") == 1, 3, "stalled reader closed")
s.close()
print("ok stalled reader closed")
PY
stop_server
t_done
