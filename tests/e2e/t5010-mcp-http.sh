#!/usr/bin/env bash
# MCP over Streamable HTTP (/mcp on flowtrack serve): the official TypeScript SDK client does
# the whole round (tests/mcp/client.mjs) and exits within 2 s of closing; then the transport's
# rules, request by request: sessions (400 without, 404 once deleted or expired, a cap), the
# status matrix (202, 406, 415, 400 for batches and bad JSON, 405), Host and Origin (403), the
# token (401), and an unknown first request answered at once with a 4xx, never 403 or 5xx;
# one session's requests on many connections (workers: FT_LOOPS), its GET stream on another.
. "$(dirname "$0")/lib.sh"

"$FT" init >/dev/null
"$FT" import "$FT_SOURCE_DIR/tests/fixtures/store-v1.txt" >/dev/null
start_server --mcp-max-sessions 3 --mcp-idle-timeout 8s # long enough for the requests below on a loaded machine

mcp_sdk_client http "$URL" "$FLOWTRACK_BIN" "$T_DB"
equals "$(metric flowtrack_mcp_sessions)" 0 "sessions after the client's DELETE"

# ---- the transport, request by request -------------------------------------------------
H=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
INIT='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
post() { # [curl options...] BODY: status in $CODE, body in $T_DIR/body, headers in $T_DIR/hdr
    local body=${*: -1}
    CODE=$(curl -sS --max-time 10 -D "$T_DIR/hdr" -o "$T_DIR/body" -w '%{http_code}' "${H[@]}" \
        "${@:1:$#-1}" --data-binary "$body" "$URL/mcp")
}
session() { tr -d '\r' <"$T_DIR/hdr" | awk 'tolower($1) == "mcp-session-id:" { print $2 }'; }

# an unknown first request: a 4xx at once (a newer client falls back on it), never 403 or 5xx
t0=$(date +%s%3N)
post '{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}'
expect_status 400 "$CODE" "server/discover without a session"
[ $(($(date +%s%3N) - t0)) -lt 1000 ] || fail "the unknown first request was slow"
contains "$(cat "$T_DIR/body")" "Mcp-Session-Id required"
post '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
expect_status 400 "$CODE" "tools/list without a session"

# initialize: an older version is negotiated, the session id is 32 hex digits
post "$INIT"
expect_status 200 "$CODE" "initialize"
SID=$(session)
[[ "$SID" =~ ^[0-9a-f]{32}$ ]] || fail "session id '$SID'"
equals "$(jget "$T_DIR/body" 'd["result"]["protocolVersion"]')" "2025-06-18" "negotiated version"
post -H "Mcp-Session-Id: $SID" '{"jsonrpc":"2.0","method":"notifications/initialized"}'
expect_status 202 "$CODE" "a notification"
equals "$(cat "$T_DIR/body")" "" "the 202's body"
post -H "Mcp-Session-Id: $SID" '{"jsonrpc":"2.0","id":5,"result":{}}'
expect_status 202 "$CODE" "a response from the client"
post -H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 2025-06-18' '{"jsonrpc":"2.0","id":2,"method":"ping"}'
expect_status 200 "$CODE" "ping"
equals "$(jget "$T_DIR/body" 'd["result"]')" "{}" "ping's result"
tr -d '\r' <"$T_DIR/hdr" | has -i "^mcp-session-id: $SID$"
post -H "Mcp-Session-Id: $SID" -H 'MCP-Protocol-Version: 1999-01-01' '{"jsonrpc":"2.0","id":2,"method":"ping"}'
expect_status 400 "$CODE" "an unsupported MCP-Protocol-Version"

# malformed input: JSON-RPC errors, nothing written
before=$("$FT" history --all --json | wc -l)
post -H "Mcp-Session-Id: $SID" '{"jsonrpc":"2.0","id":3,'
expect_status 400 "$CODE" "bad JSON"
equals "$(jget "$T_DIR/body" 'd["error"]["code"]')" -32700
post -H "Mcp-Session-Id: $SID" '[{"jsonrpc":"2.0","id":3,"method":"ping"}]'
expect_status 400 "$CODE" "a batch"
equals "$(jget "$T_DIR/body" 'd["error"]["code"]')" -32600
post -H "Mcp-Session-Id: $SID" '{"jsonrpc":"1.0","id":3,"method":"ping"}'
expect_status 200 "$CODE" "a wrong jsonrpc version"
equals "$(jget "$T_DIR/body" 'd["error"]["code"]')" -32600
post -H "Mcp-Session-Id: $SID" '{"jsonrpc":"2.0","id":4,"method":"nope/nothing"}'
equals "$(jget "$T_DIR/body" 'd["error"]["code"]')" -32601 "an unknown method"
post -H "Mcp-Session-Id: $SID" '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"entry_add","arguments":{"kind":"item","text":["x"]}}}'
equals "$(jget "$T_DIR/body" 'd["error"]["code"]')" -32602 "a wrong argument type"
post -H "Mcp-Session-Id: $SID" '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":"x"}'
equals "$(jget "$T_DIR/body" 'd["error"]["code"]')" -32602 "params that are not an object"
equals "$("$FT" history --all --json | wc -l)" "$before" "events after refused requests"

# the status matrix
CODE=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'Accept: application/json' -H "Mcp-Session-Id: $SID" --data-binary '{"jsonrpc":"2.0","id":1,"method":"ping"}' "$URL/mcp")
expect_status 406 "$CODE" "Accept without text/event-stream"
CODE=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -H 'Content-Type: text/plain' \
    -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $SID" --data-binary 'ping' "$URL/mcp")
expect_status 415 "$CODE" "a text body"
CODE=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -X PUT "$URL/mcp")
expect_status 405 "$CODE" "PUT /mcp"
CODE=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -H 'Accept: text/event-stream' "$URL/mcp")
expect_status 400 "$CODE" "GET without a session"
CODE=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -H 'Accept: application/json' -H "Mcp-Session-Id: $SID" "$URL/mcp")
expect_status 406 "$CODE" "GET that does not accept an event stream"

# Host and Origin, as everywhere on this server
CODE=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' "${H[@]}" -H 'Host: evil.example.com' --data-binary "$INIT" "$URL/mcp")
expect_status 403 "$CODE" "a foreign Host"
port=${URL##*:}
for host in "localhost:$port" "127.0.0.1:$port"; do
    CODE=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' "${H[@]}" -H "Host: $host" \
        -H "Mcp-Session-Id: $SID" --data-binary '{"jsonrpc":"2.0","id":1,"method":"ping"}' "$URL/mcp")
    expect_status 200 "$CODE" "Host $host"
done
CODE=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' "${H[@]}" -H 'Origin: http://evil.example.com' --data-binary "$INIT" "$URL/mcp")
expect_status 403 "$CODE" "a foreign Origin (POST)"
CODE=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -H 'Accept: text/event-stream' -H 'Origin: http://evil.example.com' -H "Mcp-Session-Id: $SID" "$URL/mcp")
expect_status 403 "$CODE" "a foreign Origin (GET)"

# one session, each request on its own connection (with several workers, spread over them)
sse mcp-spread "$URL" 6

# the cap on sessions, DELETE, then 404
post "$INIT"
S2=$(session)
post "$INIT"
S3=$(session)
post "$INIT"
expect_status 503 "$CODE" "a fourth session over --mcp-max-sessions 3"
equals "$(metric flowtrack_mcp_sessions)" 3 "open sessions"
for s in "$S2" "$S3"; do
    CODE=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X DELETE -H "Mcp-Session-Id: $s" "$URL/mcp")
    expect_status 204 "$CODE" "DELETE"
done
post -H "Mcp-Session-Id: $S2" '{"jsonrpc":"2.0","id":1,"method":"ping"}'
expect_status 404 "$CODE" "a deleted session"
equals "$(jget "$T_DIR/body" 'd["error"]["code"]')" -32001
# idle expiry (8 s here)
for i in $(seq 1 300); do [ "$(metric flowtrack_mcp_sessions)" = 0 ] && break; sleep 0.1; done
equals "$(metric flowtrack_mcp_sessions)" 0 "sessions after the idle timeout"
post -H "Mcp-Session-Id: $SID" '{"jsonrpc":"2.0","id":1,"method":"ping"}'
expect_status 404 "$CODE" "an expired session"
equals "$(metric 'flowtrack_mcp_sessions_closed_total{reason="idle"}')" 1 "sessions expired"
stop_server

# with a token: 401 without it, as every write of this server
start_server --token s3cret
post "$INIT"
expect_status 401 "$CODE" "initialize without the token"
post -H 'Authorization: Bearer s3cret' "$INIT"
expect_status 200 "$CODE" "initialize with the token"
stop_server
assert_no_survivors
t_done
