#!/usr/bin/env bash
# Streams ended by the client: an idle stream closed (FIN) or reset (RST) is freed within 1 s,
# without waiting for an event or a heartbeat (the heartbeat here is an hour); a client that
# resets or closes in the middle of a large event does not disturb the others; half-read
# responses at every stage are freed. Policy for a half-closed client (shutdown(SHUT_WR)):
# the stream ends as client_closed.
. "$(dirname "$0")/lib.sh"

start_server --heartbeat 1h
base_fds=$(fd_count)
sse headers "$URL" bug
sse idle-close "$URL" bug fin 50
sse idle-close "$URL" bug rst 50
sse mid-event "$URL" bug rst
sse mid-event "$URL" bug fin
sse half-read "$URL" bug
[ "$(metric flowtrack_streams_open)" = 0 ] || fail "streams still open"
wait_fds "$base_fds"
stop_server
t_done
