#!/usr/bin/env bash
# Malformed requests and JSON get 4xx and the server goes on: 400 with a JSON error naming the
# field, 404, 405 with Allow, 409 on an existing slug and on a stale If-Match, 413 for a body
# over the limit, 415 for a wrong content type, 400 for a garbage request line or oversized
# headers, 501 for an unknown method.
. "$(dirname "$0")/lib.sh"

field() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"].get("field",""))' "$T_DIR/body"
}

start_server
expect_status 201 "$(api POST /api/trackers '{"title":"One","slug":"one"}')" "create"

s=$(api POST /api/trackers '{"title":')
expect_status 400 "$s" "truncated JSON"
[ "$(field)" = body ] || fail "truncated JSON: field $(field)"
expect_status 400 "$(api POST /api/trackers '[1,2]')" "not an object"
expect_status 400 "$(api POST /api/trackers '{"slug":"two"}')" "no title"
[ "$(field)" = title ] || fail "no title: field $(field)"
expect_status 400 "$(api POST /api/trackers '{"title":"T","colour":"red"}')" "unknown field"
[ "$(field)" = colour ] || fail "unknown field: field $(field)"
expect_status 400 "$(api POST /api/trackers '{"title":"T","started":"2026-02-31"}')" "bad date"
[ "$(field)" = started ] || fail "bad date: field $(field)"
expect_status 400 "$(api POST /api/trackers/one/items '{"text":""}')" "empty text"
[ "$(field)" = text ] || fail "empty text: field $(field)"
expect_status 400 "$(api POST /api/trackers/one/items '{"text":"x","state":"maybe"}')" "bad state"
[ "$(field)" = state ] || fail "bad state: field $(field)"
expect_status 201 "$(api POST /api/trackers/one/items '{"text":"x"}')" "item"
expect_status 400 "$(api PATCH /api/trackers/one/items/1 '{"position":0}')" "bad position"
[ "$(field)" = position ] || fail "bad position: field $(field)"
expect_status 400 "$(api PATCH /api/trackers/one/items/1 '{}')" "empty patch"
expect_status 400 "$(api GET '/api/trackers/one/history?limit=abc')" "bad limit"
[ "$(field)" = limit ] || fail "bad limit: field $(field)"
expect_status 400 "$(api POST /api/trackers '{"title":"T","title":"U"}')" "duplicate key"

expect_status 404 "$(api GET /api/trackers/nope)" "unknown tracker"
expect_status 404 "$(api GET /api/trackers/one/items/99)" "unknown item"
expect_status 404 "$(api GET /api/trackers/one/widgets)" "unknown section"
expect_status 404 "$(api GET /nowhere)" "unknown route"
expect_status 404 "$(api GET /api/trackers/one/events/extra)" "deep route"

s=$(curl -sS --max-time 5 -o "$T_DIR/body" -D "$T_DIR/h" -w '%{http_code}' -X PUT "$URL/api/trackers")
expect_status 405 "$s" "PUT trackers"
grep -qi '^allow: GET, HEAD, POST' "$T_DIR/h" || fail "405 without Allow"
expect_status 405 "$(api POST /metrics '{}')" "POST metrics"
expect_status 405 "$(api DELETE /api/trackers/one/events)" "DELETE events"

expect_status 409 "$(api POST /api/trackers '{"title":"Again","slug":"one"}')" "slug taken"
[ "$(field)" = slug ] || fail "slug taken: field $(field)"
curl -sS --max-time 5 -D "$T_DIR/h" -o /dev/null "$URL/api/trackers/one"
etag=$(awk 'tolower($1) == "etag:" { print $2 }' "$T_DIR/h" | tr -d '\r')
[ -n "$etag" ] || fail "no ETag"
s=$(curl -sS --max-time 5 -o "$T_DIR/body" -w '%{http_code}' -X PATCH -H "If-Match: $etag" \
    -H 'Content-Type: application/json' -d '{"owner":"bo"}' "$URL/api/trackers/one")
expect_status 200 "$s" "PATCH with a current If-Match"
s=$(curl -sS --max-time 5 -o "$T_DIR/body" -w '%{http_code}' -X PATCH -H "If-Match: $etag" \
    -H 'Content-Type: application/json' -d '{"owner":"cy"}' "$URL/api/trackers/one")
expect_status 409 "$s" "PATCH with a stale If-Match"
[ "$(field)" = If-Match ] || fail "stale If-Match: field $(field)"
ft show one --format json | has '"owner": "bo"' || fail "the stale write was applied"

s=$(curl -sS --max-time 5 -o "$T_DIR/body" -w '%{http_code}' -X POST -H 'Content-Type: text/html' \
    -d '<p>' "$URL/api/trackers/one/items")
expect_status 415 "$s" "text/html body"
s=$(curl -sS --max-time 5 -o "$T_DIR/body" -w '%{http_code}' -X POST \
    -d 'text=x' "$URL/api/trackers/one/items")
expect_status 415 "$s" "form body"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T_DIR/big"
s=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @"$T_DIR/big" "$URL/api/trackers/one/items" || true)
expect_status 413 "$s" "2 MiB body"

# raw garbage and oversized headers over a socket
python3 - "$URL" <<'PY'
import socket, sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
def raw(data):
    s = socket.create_connection((u.hostname, u.port), 5)
    s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out.split(b"\r\n", 1)[0]
host = ("Host: 127.0.0.1:%d\r\n" % u.port).encode()
for data, want in ((b"\x16\x03\x01garbage\r\n\r\n", b" 400"),
                   (b"GET / HTTP/9.9\r\n" + host + b"\r\n", b" 400"),
                   (b"GET /healthz HTTP/1.1\r\n" + host + b"X-Big: " + b"h" * 40000 + b"\r\n\r\n", b" 400"),
                   (b"BREW /healthz HTTP/1.1\r\n" + host + b"\r\n", b" 501")):
    line = raw(data)
    if want not in line:
        print("FAIL: %r answered %r" % (data[:30], line))
        sys.exit(1)
print("ok raw requests")
PY
[ "$(curl -sS --max-time 5 "$URL/healthz")" = ok ] || fail "the server did not survive"
grep -q 'route=/api/trackers/{id}/{kind} status=415' "$T_DIR/server.log" || fail "415 not logged"
stop_server
t_done
