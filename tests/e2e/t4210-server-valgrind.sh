#!/usr/bin/env bash
# The leak scenario under valgrind (smaller count): connect/abort cycles mixing FIN and RST,
# idle and mid-event, MCP session lifecycles (clean, abandoned, aborted; a run reset while it
# runs), then SIGTERM with event streams and MCP sessions (and their GET streams) open. valgrind --leak-check=full must report
# no leak and no error (exit status 99 otherwise). Skipped (77) for a sanitizer build, which
# valgrind cannot run.
. "$(dirname "$0")/lib.sh"

if is_asan; then
    skip "an AddressSanitizer build cannot run under valgrind"
fi
command -v valgrind >/dev/null || fail "valgrind is not installed (scripts/install-deps.sh)"
SERVE_WRAPPER="valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
    --log-file=$T_DIR/valgrind.log"
READY_TRIES=600
start_server --heartbeat 200ms --mcp-idle-timeout 3s
export FT_RSS_NOISE=$((64 * 1024 * 1024)) FT_WARMUP=48
sse probe "$URL" bug "${FT_VALGRIND_CYCLES:-240}" "$(srv_pids)"
FT_WARMUP=8 sse mcp-probe "$URL" bug "${FT_VALGRIND_MCP_CYCLES:-72}" "$(srv_pids)"
# shutdown with MCP sessions and their GET streams open
sse mcp-hold "$URL" 4 "$T_DIR/mcp-ready" >"$T_DIR/mcp-clients.out" 2>&1 &
mpid=$!
for i in $(seq 1 400); do [ -f "$T_DIR/mcp-ready" ] && break; sleep 0.05; done
[ -f "$T_DIR/mcp-ready" ] || fail "MCP sessions not open"
# shutdown with streams open
sse many "$URL" bug 20 "$T_DIR/clients-ready" shutdown >"$T_DIR/clients.out" 2>&1 &
cpid=$!
for i in $(seq 1 400); do [ -f "$T_DIR/clients-ready" ] && break; sleep 0.05; done
[ -f "$T_DIR/clients-ready" ] || fail "streams not open"
kill -TERM "$SRV_PID"
wait_exit 30
wait $cpid || { cat "$T_DIR/clients.out"; fail "clients"; }
wait $mpid || { cat "$T_DIR/mcp-clients.out"; fail "MCP clients"; }
if [ "$SRV_RC" -ne 0 ]; then
    cat "$T_DIR/valgrind.log" >&2
    fail "valgrind reported errors or leaks (status $SRV_RC)"
fi
grep -E "definitely lost|indirectly lost|possibly lost|ERROR SUMMARY" "$T_DIR/valgrind.log" || true
grep -q "ERROR SUMMARY: 0 errors" "$T_DIR/valgrind.log" || fail "valgrind errors"
t_done
