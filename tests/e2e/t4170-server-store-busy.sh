#!/usr/bin/env bash
# Another process holds the store's write lock: an API write waits at most --busy-timeout,
# then answers 503 with Retry-After and a JSON error, writes nothing, and the server goes on;
# once the lock is released the same write succeeds. The event loop never waits anywhere
# near the 10 s the command line waits.
. "$(dirname "$0")/lib.sh"

start_server --busy-timeout 300ms
expect_status 201 "$(api POST /api/trackers '{"title":"Busy","slug":"b"}')" "create"

# hold the write lock (BEGIN IMMEDIATE) until told to let go, 20 s at most
python3 - "$T_DB" "$T_DIR/locked" "$T_DIR/release" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
end = time.monotonic() + 20
while time.monotonic() < end and not os.path.exists(sys.argv[3]):
    time.sleep(0.02)
db.execute("ROLLBACK")
db.close()
PY
holder=$!
for _ in $(seq 1 200); do
    [ -e "$T_DIR/locked" ] && break
    sleep 0.05
done
[ -e "$T_DIR/locked" ] || fail "the lock holder did not start"

t0=$(date +%s%N)
curl -sS --max-time 10 -D "$T_DIR/h" -o "$T_DIR/body" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data-binary '{"text":"while locked"}' \
    "$URL/api/trackers/b/items" >"$T_DIR/code"
ms=$((($(date +%s%N) - t0) / 1000000))
expect_status 503 "$(cat "$T_DIR/code")" "write under another process's lock"
grep -qi '^retry-after: 1' "$T_DIR/h" || fail "no Retry-After on the 503"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e["code"] == "unavailable" and "locked by another process" in e["message"], e' \
    "$T_DIR/body" || fail "503 body: $(cat "$T_DIR/body")"
[ "$ms" -lt 5000 ] || fail "the write waited ${ms} ms for the lock (busy timeout 300ms)"
echo "503 after ${ms} ms"
# reads go on while the lock is held (WAL readers never wait for the writer)
expect_status 200 "$(api GET /api/trackers/b)" "read while locked"

touch "$T_DIR/release"
wait "$holder" || fail "the lock holder failed"
expect_status 201 "$(api POST /api/trackers/b/items '{"text":"after the lock"}')" "write after release"
expect_status 200 "$(api GET /api/trackers/b/items)" "items"
python3 -c 'import json,sys; t=[i["text"] for i in json.load(open(sys.argv[1]))]; assert t == ["after the lock"], t' \
    "$T_DIR/body" || fail "items: $(cat "$T_DIR/body")"
[ "$(metric 'flowtrack_http_requests_total{route="/api/trackers/{id}/{kind}",code="503"}')" = 1 ] ||
    fail "the 503 is not counted: $(curl -sS --max-time 5 "$URL/metrics" | grep requests_total)"
stop_server
t_done
