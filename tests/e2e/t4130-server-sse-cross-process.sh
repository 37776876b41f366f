#!/usr/bin/env bash
# Writes by another process (the CLI on the same store file) reach open streams within 200 ms,
# and an idle server with open streams costs next to no CPU (no busy polling).
. "$(dirname "$0")/lib.sh"

start_server
sse latency "$URL" bug "$FT --db $T_DB --actor cli"

# Idle CPU: 100 open streams, no events, 3 s.
python3 - "$URL" "$LIB" "$(srv_pids)" <<'PY'
import os, sys, time
sys.path.insert(0, sys.argv[2])
import sse
url, pids = sys.argv[1], sys.argv[3]
streams = [sse.open_stream(url, "/api/trackers/bug/events") for _ in range(100)]
def cpu():
    return sse.cpu_seconds(pids)
c0, t0 = cpu(), time.monotonic()
time.sleep(3)
used = cpu() - c0
share = used / (time.monotonic() - t0)
for s in streams:
    s.close()
print("idle CPU with 100 streams: %.2f%%" % (share * 100))
if share > 0.02:
    sse.die("an idle server used %.1f%% CPU" % (share * 100))
PY
stop_server
t_done
