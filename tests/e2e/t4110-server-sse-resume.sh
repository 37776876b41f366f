#!/usr/bin/env bash
# Reconnect with Last-Event-ID (header or query) gets exactly the missed events, then the live
# ones without gap or duplicate; a backlog far larger than the per-stream buffer is replayed in
# paced batches (never treated as a slow reader); a bad Last-Event-ID is a 400 naming the field.
. "$(dirname "$0")/lib.sh"

start_server --stream-buffer 16384
sse resume "$URL" bug
# 300 events of 7 and 10 KB in turn: 2.5 MB of backlog through a 16 KB bound, frames larger
# than half the bound (replay must wait for room, not call the reader slow)
python3 - "$URL" <<'PY'
import json, sys, urllib.request
url = sys.argv[1]
for i in range(300):
    req = urllib.request.Request(url + "/api/trackers/big/items", data=json.dumps(
        {"text": "%d %s" % (i, "b" * (7000 if i % 2 else 10000))}).encode(), headers={"Content-Type": "application/json"})
    if i == 0:
        c = urllib.request.Request(url + "/api/trackers", data=b'{"title":"Big","slug":"big"}',
                                   headers={"Content-Type": "application/json"})
        urllib.request.urlopen(c, timeout=10).read()
    urllib.request.urlopen(req, timeout=10).read()
PY
sse resume-big "$URL" big 300
[ "$(metric flowtrack_streams_open)" = 0 ] || fail "streams still open"
stop_server
t_done
