#!/usr/bin/env bash
# serve --loops N: a supervisor and N worker processes on one port (src/server/group.c).
# Connections spread over the workers and /metrics sums them; --max-streams bounds the whole
# server; a worker killed is started again while the others serve on; SIGTERM stops every
# worker (exit 0); the supervisor killed takes its workers with it; a port another server
# holds is refused, not shared; --loops is checked.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "the server's own processes"

loops=$FT_LOOPS
[ "$loops" -ge 2 ] || loops=2
start_server --loops "$loops" --max-streams 4
pids=$(srv_pids)
equals "$(echo "$pids" | tr , '\n' | wc -l)" "$loops" "worker processes"
equals "$(metric flowtrack_workers)" "$loops" "flowtrack_workers"

# every worker answers: 40 requests, each on a new connection, summed by any worker's /metrics
for _ in $(seq 40); do expect_status 200 "$(api GET /healthz)" "healthz"; done
equals "$(metric 'flowtrack_http_requests_total{route="/healthz",code="200"}')" 40 \
    "healthz requests summed over the workers"
for p in $(echo "$pids" | tr , ' '); do
    [ -n "$(grep -c . "/proc/$p/stat")" ] || fail "worker $p is gone"
done

# --max-streams is the server's: the fifth stream is refused, wherever it lands
python3 - "$URL" "$LIB" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import sse
url = sys.argv[1]
sse.ensure_tracker(url, "bug")
streams = [sse.open_stream(url, "/api/trackers/bug/events") for _ in range(4)]
for _ in range(6):
    st, _, _ = sse.request(url, "GET", "/api/trackers/bug/events")
    if st != 503:
        sse.die("a stream past --max-streams 4 answered %d" % st)
m = sse.metrics(url)
if m["flowtrack_streams_open"] != 4 or m["flowtrack_streams_rejected_total"] != 6:
    sse.die("streams_open %d, rejected %d" % (m["flowtrack_streams_open"],
                                              m["flowtrack_streams_rejected_total"]))
for s in streams:
    s.close()
sse.wait_metric(url, lambda m: m["flowtrack_streams_open"] == 0, 5, "streams closed")
print("ok 4 streams, 6 refused over the workers")
PY

# a worker killed: started again; the others serve meanwhile
victim=${pids%%,*}
kill -KILL "$victim"
for _ in $(seq 20); do expect_status 200 "$(api GET /healthz)" "healthz while a worker restarts"; done
for _ in $(seq 100); do
    [ "$(srv_pids | tr , '\n' | wc -l)" = "$loops" ] && ! srv_pids | grep -qw "$victim" && break
    sleep 0.05
done
srv_pids | grep -qw "$victim" && fail "the killed worker $victim is still listed"
equals "$(srv_pids | tr , '\n' | wc -l)" "$loops" "workers after one was killed"
grep -qE 'event=worker_exit worker=[0-9]+ signal=9 msg="ended unasked: starting again"' \
    "$T_DIR/server.log" || fail "no worker_exit line for the killed worker"
for _ in $(seq 50); do [ "$(metric flowtrack_workers)" = "$loops" ] && break; sleep 0.1; done
equals "$(metric flowtrack_workers)" "$loops" "flowtrack_workers after the restart"
equals "$(metric flowtrack_worker_restarts_total)" 1 "restarts counted"
# the counters of the killed worker's slot go on
[ "$(metric 'flowtrack_http_requests_total{route="/healthz",code="200"}')" -ge 60 ] ||
    fail "requests counted before the restart were lost"

# SIGTERM: every worker stops cleanly, the supervisor exits 0
pids=$(srv_pids)
stop_server
for p in $(echo "$pids" | tr , ' '); do assert_gone "$p"; done
n=$(grep -c 'event=stop streams_open=0 flushing=0' "$T_DIR/server.log")
equals "$n" "$loops" "clean stop lines"
file_contains "$T_DIR/server.log" "event=stop workers=$loops clean=1"

# the supervisor killed: its workers end with it
start_server --loops "$loops"
pids=$(srv_pids)
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=
for _ in $(seq 50); do
    left=0
    for p in $(echo "$pids" | tr , ' '); do kill -0 "$p" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.02
done
for p in $(echo "$pids" | tr , ' '); do assert_gone "$p"; done

# a port held by another server: refused, not shared
start_server --loops "$loops"
port=${URL##*:}
expect_code 1 "$FT" --db "$T_DB" serve --listen "127.0.0.1:$port" --loops "$loops"
contains "$ERR" "cannot listen on '127.0.0.1:$port'"
expect_code 1 "$FT" --db "$T_DB" serve --listen "127.0.0.1:$port" --loops 1
stop_server

# --loops is a count from 1 to 64
expect_code 2 "$FT" --db "$T_DB" serve --loops 0
expect_code 2 "$FT" --db "$T_DB" serve --loops 65
expect_code 2 "$FT" --db "$T_DB" serve --loops two
assert_no_survivors
t_done
