#!/usr/bin/env bash
# Leak regression: thousands of connect/abort cycles mixing FIN and RST, before the request,
# after half a request, after the headers, idle and in the middle of an event. Afterwards the
# server's open fds and threads are exactly at their baseline, its anonymous RSS (heap and
# stacks; the store file's mapped pages grow with the file and are not counted) within a small
# noise bound, /metrics shows 0 open streams and every stream's end counted (as client_closed).
# Under AddressSanitizer the quarantine of freed memory is capped at 16 MiB and the RSS bound
# loosened to match; LeakSanitizer checks the heap at exit as well.
. "$(dirname "$0")/lib.sh"

cycles=${FT_LEAK_CYCLES:-4000}
export FT_RSS_NOISE=$((2 * 1024 * 1024))
if is_asan; then
    cycles=${FT_LEAK_CYCLES:-2000}
    export FT_RSS_NOISE=$((48 * 1024 * 1024))
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
fi
start_server --heartbeat 1h
sse probe "$URL" bug "$cycles" "$(srv_pids)"
[ "$(metric flowtrack_streams_open)" = 0 ] || fail "streams still open"
stop_server
t_done
