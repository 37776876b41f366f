#!/usr/bin/env bash
# MCP sessions own their resources: hundreds of session lifecycles over /mcp, clean and aborted
# (DELETE, abandoned until the idle timeout, the GET stream reset or closed idle and while an
# update is in flight, a POST cut off half sent, a run whose POST is reset while it runs).
# Afterwards /metrics counts no open session, stream or run, every session's end is counted,
# and the server's fds and threads are at their baseline, its anonymous RSS within noise.
. "$(dirname "$0")/lib.sh"

cycles=${FT_MCP_LEAK_CYCLES:-1200}
export FT_RSS_NOISE=$((2 * 1024 * 1024))
if is_asan; then
    cycles=${FT_MCP_LEAK_CYCLES:-600}
    export FT_RSS_NOISE=$((48 * 1024 * 1024))
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
fi
# abandoned sessions live until the idle timeout: on a fast machine more than the default cap of
# 256 pile up in 3 s, so the cap is lifted (the cap itself is tested in t5010)
start_server --heartbeat 1h --mcp-idle-timeout 3s --mcp-max-sessions 100000
sse mcp-probe "$URL" bug "$cycles" "$(srv_pids)"
[ "$(metric flowtrack_mcp_sessions)" = 0 ] || fail "MCP sessions still open"
[ "$(metric flowtrack_mcp_runs)" = 0 ] || fail "MCP runs still going"
[ "$(metric 'flowtrack_mcp_sessions_closed_total{reason="idle"}')" -gt 0 ] || fail "no session expired idle"
stop_server
assert_no_survivors
t_done
