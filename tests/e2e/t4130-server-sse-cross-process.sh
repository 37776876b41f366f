#!/usr/bin/env bash
# Writes by another process (the CLI on the same store file) reach open streams within 200 ms,
# and an idle server with open streams costs next to no CPU (no busy polling). A burst written
# while the server cannot run (stopped) is read at once and sent to each stream in one write:
# every stream still gets every event it wants, once and in order, and a tracker's stream
# ends at the tracker's deletion inside the burst.
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

# the burst: the server stopped while the command line writes 61 events on two trackers
ft create --slug ba 'Burst A' >/dev/null
ft create --slug bb 'Burst B' >/dev/null
for s in all ba bb; do
    path=/api/events
    [ "$s" = all ] || path=/api/trackers/$s/events
    curl -sN --max-time 60 "$URL$path" >"$T_DIR/burst-$s" 2>/dev/null &
    t_track $!
done
for _ in $(seq 100); do
    [ "$(metric flowtrack_streams_open)" = 3 ] && break
    sleep 0.05
done
equals "$(metric flowtrack_streams_open)" 3 "burst streams open"
head=$(metric flowtrack_log_head_sequence)
stopped="$SRV_PID $(srv_pids | tr , ' ')"
t_at_exit "kill -CONT $stopped 2>/dev/null"
kill -STOP $stopped
for i in $(seq 30); do
    ft -t ba item add "a$i" >/dev/null
    ft -t bb item add "b$i" >/dev/null
done
ft delete ba >/dev/null
ft -t bb item add "b after the deletion of ba" >/dev/null
kill -CONT $stopped
want=$((head + 62))
for _ in $(seq 100); do
    grep -q "^id: $want\$" "$T_DIR/burst-all" && grep -q "^id: $want\$" "$T_DIR/burst-bb" && break
    sleep 0.05
done
ids() { grep '^id: ' "$1" | awk '{ print $2 }' | tr '\n' ' '; }
equals "$(ids "$T_DIR/burst-all")" "$(seq $((head + 1)) "$want" | tr '\n' ' ')" "every event, once, in order"
equals "$(grep -c '^event: item.add' "$T_DIR/burst-ba")" 30 "the items of ba on its stream"
equals "$(grep '^event: ' "$T_DIR/burst-ba" | tail -1)" "event: tracker.delete" "ba's stream's last event"
equals "$(grep -c '^event: item.add' "$T_DIR/burst-bb")" 31 "the items of bb on its stream"
grep -q 'event=stream_end reason=complete tracker=ba' "$T_DIR/server.log" ||
    fail "ba's stream did not end with its tracker"
stop_server
t_done
