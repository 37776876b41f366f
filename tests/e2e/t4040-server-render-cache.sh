#!/usr/bin/env bash
# GET of a tracker is served from the render cache while the tracker's version
# (its newest event) stays put, and never stale: a write by the API or by the
# CLI on the same store changes the version and the body; If-None-Match with
# the current version gets 304.
. "$(dirname "$0")/lib.sh"

ft create --slug c 'Cache test' >/dev/null
ft item add 'first' >/dev/null
start_server

etag() { curl -sS --max-time 5 -D - -o "$T_DIR/body" "$@" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }'; }
e1=$(etag "$URL/api/trackers/c")
cp "$T_DIR/body" "$T_DIR/first.json"
grep -q '"first"' "$T_DIR/first.json" || fail "the body lacks the item"
# one GET more than there are workers: one of them answers twice
for _ in $(seq "$FT_LOOPS"); do
    e1b=$(etag "$URL/api/trackers/c")
    [ "$e1" = "$e1b" ] || fail "the version moved without a write: $e1 then $e1b"
    cmp -s "$T_DIR/body" "$T_DIR/first.json" || fail "a cached body differs from the first"
done
[ "$(metric flowtrack_render_cache_hits_total)" -ge 1 ] || fail "no cache hit counted"

# 304 for the current version, 200 for another one
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H "If-None-Match: $e1" "$URL/api/trackers/c")
[ "$code" = 304 ] || fail "If-None-Match with the current version: $code"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'If-None-Match: "1"' "$URL/api/trackers/c")
[ "$code" = 200 ] || fail "If-None-Match with an old version: $code"

# a write by another process: the next GET sees it at once, with a new version
ft item add 'from the CLI' >/dev/null
e2=$(etag "$URL/api/trackers/c")
[ "$e2" != "$e1" ] || fail "the version did not move after a CLI write"
grep -q '"from the CLI"' "$T_DIR/body" || fail "a GET after a CLI write served the old body"

# a write by the API, and the other formats
expect_status 201 "$(api POST /api/trackers/c/items '{"text":"from the API"}')" "API write"
curl -sS --max-time 5 "$URL/api/trackers/c" | has '"from the API"' || fail "stale JSON after an API write"
curl -sS --max-time 5 "$URL/api/trackers/c.md" | has 'from the API' || fail "stale Markdown"
curl -sS --max-time 5 "$URL/api/trackers/c?format=text" | has '  • from the API' || fail "stale text"

# A reply longer than one write is not held back: libevent wrote 16 KiB per callback and,
# with Nagle's algorithm on, the rest waited for the client's delayed ACK, 40 ms for each GET
# of a tracker of 16-64 KiB on a kept-alive connection. 30 GETs of a ~30 KiB tracker on one
# connection: the median must stay well under those 40 ms (it is about 1 ms, under ASan too).
python3 - "$T_DIR/big.txt" <<'PY'
import sys
lines = ["Big tracker", "", "Started: 2026-11-25", "", "Progress Tracker", "", "\u23f3 Pending", ""]
lines += ["  \u2022 Pending item number %d with enough words to make the document large" % i
          for i in range(1, 71)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
ft import --slug big "$T_DIR/big.txt" >/dev/null
PYTHONPATH="$LIB" $OUTER python3 - "$URL" <<'PY'
import http.client, statistics, sys, time
import sse
h, p = sse.addr(sys.argv[1])
c = http.client.HTTPConnection(h, p, timeout=10)
times, size = [], 0
for _ in range(30):
    t0 = time.monotonic()
    c.request("GET", "/api/trackers/big")
    r = c.getresponse()
    size = len(r.read())
    times.append(time.monotonic() - t0)
    if r.status != 200:
        sse.die("GET of the big tracker: %d" % r.status)
c.close()
med = statistics.median(times)
print("GET of a %d-byte tracker on one connection: median %.1f ms, max %.1f ms" %
      (size, med * 1000, max(times) * 1000))
if not 16384 < size < 65536:
    sse.die("the big tracker is %d bytes, not the 16-64 KiB this checks" % size)
if med > 0.025:
    sse.die("a GET of a large tracker took %.0f ms (median): held back by Nagle?" % (med * 1000))
PY
# A kept-alive GET is answered in the turn of the loop that read it: written at once, not
# after write interest is added to epoll and dropped again (two epoll_ctl per reply). What is
# left is at most one, for the read interest evhttp drops while it handles a request.
if strace -qq -o /dev/null true 2>/dev/null; then
    attach=()
    for p in $(srv_pids | tr , ' '); do attach+=(-p "$p"); done
    strace -qq -c -e trace=epoll_ctl -o "$T_DIR/epoll.txt" "${attach[@]}" &
    sp=$!
    t_track "$sp"
    for _ in $(seq 100); do # until every worker is traced
        traced=1
        for p in $(srv_pids | tr , ' '); do
            [ "$(awk '/^TracerPid/ { print $2 }' "/proc/$p/status")" != 0 ] || traced=0
        done
        [ "$traced" = 1 ] && break
        sleep 0.05
    done
    [ "$traced" = 1 ] || fail "strace did not attach to the server"
    PYTHONPATH="$LIB" $OUTER python3 - "$URL" <<'PY'
import http.client, sys
import sse
h, p = sse.addr(sys.argv[1])
c = http.client.HTTPConnection(h, p, timeout=10)
for _ in range(200):
    c.request("GET", "/api/trackers/c")
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sse.die("GET: %d" % r.status)
c.close()
PY
    kill -INT "$sp"
    wait "$sp" || true
    n=$(awk '$NF == "epoll_ctl" { print $4 }' "$T_DIR/epoll.txt")
    echo "epoll_ctl calls for 200 kept-alive GETs: ${n:-0}" >&2
    [ "${n:-0}" -le 220 ] || fail "200 kept-alive GETs made $n epoll_ctl calls (at most one each)"
fi
stop_server
t_done
