#!/usr/bin/env bash
# MCP over stdio with the official TypeScript SDK client (tests/mcp/client.mjs): connect, list
# the tools, call every one, protocol errors, subscribe and see a CLI change, cancel a long run,
# close. The Node process exits by itself within 2 s of closing; the cancelled run is recorded as
# interrupted and nothing it started is left.
. "$(dirname "$0")/lib.sh"

MCP_DIR=$FT_SOURCE_DIR/tests/mcp
[ -d "$MCP_DIR/node_modules/@modelcontextprotocol/sdk" ] ||
    fail "the MCP SDK is not installed: 'make test' runs 'npm ci' in tests/mcp"
"$FT" init >/dev/null
"$FT" import "$FT_SOURCE_DIR/tests/fixtures/store-v1.txt" >/dev/null

$OUTER node "$MCP_DIR/client.mjs" stdio "$FLOWTRACK_BIN" "$T_DB" >"$T_DIR/node.out" 2>"$T_DIR/node.err" &
node_pid=$!
t_track $node_pid
rc=0
wait $node_pid || rc=$?
done_ms=$(date +%s%3N)
cat "$T_DIR/node.out" >&2
[ "$rc" = 0 ] || fail "the SDK client failed ($rc): $(tail -5 "$T_DIR/node.err")"
closed=$(sed -n 's/^closed //p' "$T_DIR/node.out")
[ -n "$closed" ] || fail "the client did not close"
[ $((done_ms - closed)) -lt 2000 ] || fail "node took $((done_ms - closed)) ms to exit after close"
file_contains "$T_DIR/node.out" "ok listTools 10 tools"

# the cancelled run: its runner records it as interrupted and ends the command
for i in $(seq 1 100); do
    "$FLOWTRACK_BIN" -t example-tracker-streaming-endpoint runs --json >"$T_DIR/runs.json"
    [ "$(jget "$T_DIR/runs.json" '[r["outcome"] for r in d if r["label"] == "cancel stdio"]')" = "['interrupted']" ] && break
    sleep 0.1
done
equals "$(jget "$T_DIR/runs.json" '[r["outcome"] for r in d if r["label"] == "cancel stdio"]')" "['interrupted']" "the cancelled run"
for i in $(seq 1 100); do [ -z "$(tagged_pids)" ] && break; sleep 0.1; done
assert_no_survivors
t_done
