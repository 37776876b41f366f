#!/usr/bin/env bash
# `flowtrack mcp` at the byte level: malformed lines, batches, wrong versions, unknown methods,
# wrong argument types and a line over the size bound each get their JSON-RPC error (-32700,
# -32600, -32601, -32602) and the session goes on; nothing is written. stdout carries only
# JSON-RPC messages. At stdin's end it exits 0 within 1 s, also with a run in flight (whose
# runner still records it as interrupted and ends the command).
. "$(dirname "$0")/lib.sh"

"$FT" init >/dev/null
"$FT" import "$FT_SOURCE_DIR/tests/fixtures/store-v1.txt" >/dev/null
before=$("$FT" history --all --json | wc -l)

python3 - "$FLOWTRACK_BIN" "$T_DB" <<'PY' || fail "the protocol checks failed"
import json, select, subprocess, sys, time
ft, db = sys.argv[1], sys.argv[2]

def start():
    return subprocess.Popen([ft, "--db", db, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)

def recv(p, timeout=10):
    r, _, _ = select.select([p.stdout], [], [], timeout)
    if not r:
        sys.exit("no answer within %ds" % timeout)
    line = p.stdout.readline()
    return json.loads(line)  # stdout holds JSON-RPC messages only

def send(p, data):
    p.stdin.write(data if isinstance(data, bytes) else (json.dumps(data) + "\n").encode())
    p.stdin.flush()

def expect_error(p, data, code, what):
    send(p, data)
    m = recv(p)
    if m.get("error", {}).get("code") != code:
        sys.exit("%s: expected error %d, got %r" % (what, code, m))

p = start()
send(p, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
m = recv(p)
assert m["result"]["protocolVersion"] == "2025-03-26", m
expect_error(p, b"{not json\n", -32700, "bad JSON")
expect_error(p, b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]\n', -32600, "a batch")
expect_error(p, {"jsonrpc": "1.0", "id": 2, "method": "ping"}, -32600, "jsonrpc 1.0")
expect_error(p, {"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}, -32600, "an object id")
expect_error(p, b'"just a string"\n', -32600, "not an object")
expect_error(p, {"jsonrpc": "2.0", "id": 3, "method": "no/such"}, -32601, "an unknown method")
expect_error(p, {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": []}, -32602, "params array")
expect_error(p, {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                 "params": {"name": "entry_add", "arguments": {"kind": "item", "text": 7}}}, -32602,
             "a wrong type")
expect_error(p, {"jsonrpc": "2.0", "id": 6, "method": "tools/call",
                 "params": {"name": "entry_update", "arguments": {"kind": "item", "num": 0, "state": "done"}}},
             -32602, "out of range")
expect_error(p, {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                 "params": {"name": "tracker_read", "arguments": {"format": "pdf"}}}, -32602, "enum")
expect_error(p, {"jsonrpc": "2.0", "id": 8, "method": "resources/read",
                 "params": {"uri": "https://example.com/"}}, -32002, "a foreign resource")
expect_error(p, b'{"jsonrpc":"2.0","id":9,"method":"ping","pad":"' + b"x" * (9 << 20) + b'"}\n',
             -32700, "a line over the bound")
# notifications get nothing; the session still answers
send(p, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}})
send(p, {"jsonrpc": "2.0", "method": "notifications/whatever"})
send(p, {"jsonrpc": "2.0", "id": 10, "method": "ping"})
m = recv(p)
assert m == {"jsonrpc": "2.0", "id": 10, "result": {}}, m
# an execution error is a tool result the model reads, not a protocol error
send(p, {"jsonrpc": "2.0", "id": 11, "method": "tools/call",
         "params": {"name": "tracker_read", "arguments": {"tracker": "no-such-tracker"}}})
m = recv(p)
assert m["result"]["isError"] is True and "no-such-tracker" in m["result"]["content"][0]["text"], m
# stdin's end: exit 0 within 1 s
t0 = time.monotonic()
p.stdin.close()
rc = p.wait(5)
dt = time.monotonic() - t0
assert rc == 0 and dt < 1, (rc, dt)
print("idle session: exit %d after %.0f ms" % (rc, dt * 1000))

# again with a run in flight
p = start()
send(p, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
    "name": "run", "arguments": {"command": "sleep 60", "label": "at eof", "timeout_s": 120},
    "_meta": {"progressToken": "t"}}})
m = recv(p)
assert m.get("method") == "notifications/progress", m
t0 = time.monotonic()
p.stdin.close()
rc = p.wait(5)
dt = time.monotonic() - t0
assert rc == 0 and dt < 1, (rc, dt)
print("with a run in flight: exit %d after %.0f ms" % (rc, dt * 1000))
PY
# the run left behind at stdin's end is recorded as interrupted; nothing else was written
for i in $(seq 1 100); do
    n=$("$FT" runs --json | jget /dev/stdin '[r["outcome"] for r in d if r["label"] == "at eof"]' 2>/dev/null || true)
    [ "$n" = "['interrupted']" ] && break
    sleep 0.1
done
equals "$("$FT" runs --json | python3 -c 'import json,sys; print([r["outcome"] for r in json.load(sys.stdin) if r["label"] == "at eof"])')" "['interrupted']" "the run at stdin's end"
equals "$("$FT" history --all --json | wc -l)" "$((before + 1))" "events: the interrupted run only"
for i in $(seq 1 100); do [ -z "$(tagged_pids)" ] && break; sleep 0.1; done
assert_no_survivors
t_done
