#!/usr/bin/env bash
# Fan-out passes: writes are answered once durable, and the new events go to the streams in
# passes that run between requests, each carrying every event that came meanwhile. Under a
# burst from 4 writers with 1 000 streams open, streams opened during the burst (fresh, and
# resuming from before it) and streams reset during it, every stream gets every event it
# wants once and in order, and the passes carry more than one event per write. SIGTERM in the
# middle of a burst still delivers every answered write to the streams before their end.
. "$(dirname "$0")/lib.sh"

start_server --heartbeat 1h
sse passes "$URL" 1000
for _ in $(seq 100); do # the reset and closed streams are released
    [ "$(metric flowtrack_streams_open)" = 0 ] && break
    sleep 0.05
done
equals "$(metric flowtrack_streams_open)" 0 "streams open after the scenario"

# SIGTERM right after a burst of answered writes: their events reach every stream, then the
# shutdown event.
sse passes-term "$URL" 1000 "$SRV_PID"
wait_exit 30
[ "$SRV_RC" -eq 0 ] || fail "the server exited with status $SRV_RC after SIGTERM"
grep -E 'event=stop streams_open=[1-9]|event=stop .*flushing=[1-9]' "$T_DIR/server.log" &&
    fail "a worker did not stop with every stream released"
t_done
