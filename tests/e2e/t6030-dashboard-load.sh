#!/usr/bin/env bash
# The dashboard under load: a 1 000-item tracker (the time of its first render is printed for
# docs/benchmarks.md, not asserted tightly); 100 writes a second for 3 s keep the open page
# responsive, its renders coalesced; 50 open pages cost the server their 50 streams and nothing
# once closed: descriptors back at the baseline, anonymous memory within noise.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "a browser test: it always talks to a server"
# Under ASan the figures would measure the sanitizer, and the server's release of aborted and
# closed streams is already checked there by t4200 and t4220: the plain build runs this one.
is_asan && skip "a load measurement: the plain build runs it"

"$FT" create "Large tracker" --slug big >/dev/null
for i in $(seq 1 1000); do echo "item number $i of the large tracker"; done >"$T_DIR/items"
"$FT" import --slug sse "$FT_SOURCE_DIR/examples/sse-stream-release.txt" >/dev/null
start_server
python3 - "$URL" "$T_DIR/items" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
for line in open(sys.argv[2]):
    c.request("POST", "/api/trackers/big/items", json.dumps({"text": line.strip()}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 201, r.status
PY
equals "$(ft show -t big --json | json 'len(d["items"])')" 1000 "items in the large tracker"
browser load "$URL" big 3

# 50 pages: their streams, then nothing
sleep 0.3
base_fds=$(fd_count)
base_rss=$(srv_anon_kb)
browser pages "$URL" sse 50
for _ in $(seq 1 250); do
    [ "$(metric flowtrack_streams_open)" = 0 ] && [ "$(fd_count)" = "$base_fds" ] && break
    sleep 0.04
done
equals "$(metric flowtrack_streams_open)" 0 "streams open after the pages closed"
equals "$(fd_count)" "$base_fds" "the server's descriptors after the pages closed"
rss=$(srv_anon_kb)
noise=2048
is_asan && noise=65536
[ $((rss - base_rss)) -le $noise ] || fail "anonymous RSS grew by $((rss - base_rss)) KiB (bound $noise KiB)"
echo "50 pages: fds $base_fds -> $(fd_count), anon rss $base_rss -> $rss KiB" >&2
stop_server
t_done
