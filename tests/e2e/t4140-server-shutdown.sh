#!/usr/bin/env bash
# SIGTERM with 1000 open streams: the listener closes, every stream gets a final "shutdown"
# event and a clean end of its chunked body, the store is closed and the process exits 0 in
# under 1 s with every stream released. SIGINT does the same; a second signal does not hang.
. "$(dirname "$0")/lib/server.sh"

limit=1.0
is_asan && limit=3.0 # instrumented build: same checks, slower process

start_server --heartbeat 1h
sse many "$URL" bug 1000 "$T/clients-ready" shutdown >"$T/clients.out" 2>&1 &
cpid=$!
for i in $(seq 1 600); do
    [ -f "$T/clients-ready" ] && break
    kill -0 $cpid 2>/dev/null || { cat "$T/clients.out"; fail "the clients failed"; }
    sleep 0.05
done
[ -f "$T/clients-ready" ] || fail "1000 streams not open in time"
t0=$(date +%s%N)
kill -TERM "$SRV_PID"
wait_exit 5
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "exit after SIGTERM with 1000 streams: ${ms} ms, status $SRV_RC"
[ "$SRV_RC" -eq 0 ] || fail "exit status $SRV_RC"
awk -v ms="$ms" -v l="$limit" 'BEGIN { exit !(ms < l * 1000) }' || fail "took ${ms} ms"
grep -q 'event=stop streams_open=0 flushing=0' "$T/server.log" || fail "streams not all released"
n=$(grep -c 'event=stream_end reason=shutdown' "$T/server.log")
[ "$n" -eq 1000 ] || fail "$n stream_end lines with reason=shutdown"
wait $cpid || { cat "$T/clients.out"; fail "the clients did not all see a clean end"; }
cat "$T/clients.out"

# SIGINT, with a stream open, then a second signal while it is stopping
start_server
sse many "$URL" bug 5 "$T/ready2" eof >"$T/clients2.out" 2>&1 &
cpid=$!
for i in $(seq 1 200); do [ -f "$T/ready2" ] && break; sleep 0.05; done
kill -INT "$SRV_PID"
kill -INT "$SRV_PID" 2>/dev/null || true
wait_exit 5
[ "$SRV_RC" -eq 0 ] || fail "SIGINT: exit status $SRV_RC"
wait $cpid || { cat "$T/clients2.out"; fail "SIGINT clients"; }
echo "ok"
