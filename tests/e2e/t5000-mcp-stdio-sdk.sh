#!/usr/bin/env bash
# MCP over stdio with the official TypeScript SDK client (tests/mcp/client.mjs): connect, list
# the tools, call every one, protocol errors, subscribe and see a CLI change, cancel a long run,
# close. The Node process exits by itself within 2 s of closing; the cancelled run is recorded as
# interrupted and nothing it started is left.
. "$(dirname "$0")/lib.sh"

"$FT" init >/dev/null
"$FT" import "$FT_SOURCE_DIR/tests/fixtures/store-v1.txt" >/dev/null

mcp_sdk_client stdio "$FLOWTRACK_BIN" "$T_DB"
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
