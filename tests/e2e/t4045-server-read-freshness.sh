#!/usr/bin/env bash
# GET of a tracker answers from what the change watch knows, without reading the store, and is
# never stale across processes:
#  - a write by another process (the CLI) whose event a stream has received is never answered
#    with the old document, nor with its entity tag (and If-None-Match with the old tag gets
#    the new document, not 304);
#  - a write the CLI completed before the GET was sent is seen too, without waiting for a
#    stream;
#  - a slug renamed or a tracker deleted by the CLI is followed;
#  - a cached GET makes no store read: no fcntl lock and no read of the store's files by the
#    server while it answers them, once the moments after a write have passed (strace, when
#    installed).
. "$(dirname "$0")/lib.sh"

ft create --slug c 'Freshness test' >/dev/null
ft item add 'first' >/dev/null
start_server

python3 - "$URL" "$LIB" "$FT --db $T_DB --actor cli" <<'PY' || fail "freshness"
import json, subprocess, sys
sys.path.insert(0, sys.argv[2])
import sse
url, cli = sys.argv[1], sys.argv[3].split()

def get(path, inm=None):
    st, hd, body = sse.request(url, "GET", path, headers={"If-None-Match": inm} if inm else None)
    return st, hd.get("ETag"), body

def items(body):
    return [i["text"] for i in json.loads(body)["items"]]

s = sse.open_stream(url, "/api/trackers/c/events")
h0 = sse.metrics(url)["flowtrack_render_cache_hits_total"]
for i in range(40):
    st, old, body = get("/api/trackers/c")
    st2, old2, _ = get("/api/trackers/c")  # the cached document
    if st != 200 or st2 != 200 or old != old2:
        sse.die("round %d: %s %s then %s %s" % (i, st, old, st2, old2))
    text = "cli-%d" % i
    subprocess.run(cli + ["-t", "c", "item", "add", text], check=True, stdout=subprocess.DEVNULL)
    if i % 2:
        # after its event reached a stream
        f = s.next_event(10)
        if json.loads(f["data"][0])["text"] != text:
            sse.die("unexpected event %r" % f)
        st, tag, body = get("/api/trackers/c", inm=old)
        if st != 200 or text not in items(body):
            sse.die("round %d: after the event, GET answered %d without '%s'" % (i, st, text))
        if tag != '"%s"' % f["id"]:
            sse.die("round %d: entity tag %s, the event was %s" % (i, tag, f["id"]))
    else:
        # at once, the stream not read
        st, tag, body = get("/api/trackers/c")
        if st != 200 or text not in items(body) or tag == old:
            sse.die("round %d: right after the CLI exited, GET answered %d %s without '%s'"
                    % (i, st, tag, text))
        f = s.next_event(10)
h1 = sse.metrics(url)["flowtrack_render_cache_hits_total"]
if h1 - h0 < 40:
    sse.die("only %d cache hits in 40 rounds" % (h1 - h0))

# a slug renamed, then the tracker deleted, by the CLI
get("/api/trackers/c")
subprocess.run(cli + ["-t", "c", "edit", "--slug", "d"], check=True, stdout=subprocess.DEVNULL)
st, _, _ = get("/api/trackers/c")
st2, _, body = get("/api/trackers/d")
if st != 404 or st2 != 200 or "cli-39" not in items(body):
    sse.die("after a rename: old slug %d, new slug %d" % (st, st2))
subprocess.run(cli + ["delete", "d"], check=True, stdout=subprocess.DEVNULL)
st, _, _ = get("/api/trackers/d")
if st != 404:
    sse.die("a deleted tracker answered %d" % st)
s.close()
print("ok 40 rounds fresh, rename and delete followed, %d cache hits" % (h1 - h0))
PY

# no store read for a cached GET: the server's system calls while it answers 30 of them
# One try: strace attached to the server while it answers 30 GETs of a cached tracker.
# Sets N to how many store calls it saw; fails when strace saw fewer than the 30 connections.
cached_get_calls() {
    local p targets=()
    for p in $(srv_pids | tr , ' '); do targets+=(-p "$p"); done
    strace -f -qq -e trace=fcntl,pread64,openat,accept4 "${targets[@]}" -o "$T_DIR/strace.out" &
    local st_pid=$! mark= _
    for _ in $(seq 100); do # until strace is attached: it sees the server accept a connection
        curl -sS --max-time 5 -o /dev/null "$URL/healthz"
        if grep -q accept4 "$T_DIR/strace.out" 2>/dev/null; then
            mark=$(wc -l <"$T_DIR/strace.out")
            break
        fi
        sleep 0.1
    done
    if [ -z "$mark" ]; then
        kill -INT "$st_pid" 2>/dev/null
        wait "$st_pid" 2>/dev/null
        fail "strace did not attach to the server"
    fi
    for _ in $(seq 30); do
        curl -sS --max-time 5 -o /dev/null "$URL/api/trackers/e" || fail "GET failed"
    done
    sleep 0.2
    kill -INT "$st_pid" 2>/dev/null
    wait "$st_pid" 2>/dev/null || true
    tail -n +"$((mark + 1))" "$T_DIR/strace.out" >"$T_DIR/during"
    local accepts
    accepts=$(grep -c accept4 "$T_DIR/during" || true)
    [ "$accepts" -ge 30 ] || fail "strace saw $accepts of the 30 connections"
    N=$(grep -cE 'fcntl|pread64|openat' "$T_DIR/during" || true)
}

if command -v strace >/dev/null; then
    ft create --slug e 'Strace' >/dev/null
    curl -sS --max-time 5 -o /dev/null "$URL/api/trackers/e" # rendered and cached
    # For 250 ms after a write the server reads the log again now and then (a commit is seen
    # being written before it is published); no write happens from here on, so a try after
    # a loaded machine has delayed the end of that window makes no store call at all.
    sleep 1
    for try in 1 2 3; do
        cached_get_calls
        [ "$N" = 0 ] && break
        echo "try $try: $N store calls" >&2
        sleep 1
    done
    [ "$N" = 0 ] || {
        head -20 "$T_DIR/during" >&2
        fail "30 cached GETs made $N store calls (fcntl, pread64, openat), three times"
    }
    echo "ok 30 cached GETs: no fcntl, pread64 or openat"
fi
stop_server
t_done
