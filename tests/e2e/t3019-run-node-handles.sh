#!/usr/bin/env bash
# A Node.js server that never closes (sc_node_server.js): the diagnosis names its script and
# what keeps its event loop alive, read from /proc: the listening socket with its port, the
# client connection to itself, its child (sleep 300) and the timer (the epoll_wait timeout);
# libuv's own descriptors are left out of the handles. The same node object comes from
# `flowtrack diagnose` on a copy started outside flowtrack, and from a leak (a shell that
# starts the server in the background and exits). A Node.js program stuck in JavaScript
# (sc_node_spin.js) started with --perf-basic-prof has its JavaScript frames named in the
# eu-stack stack from the perf map it writes.
. "$(dirname "$0")/lib.sh"

NODE=$(command -v node || command -v nodejs || true)
[ -n "$NODE" ] || skip "node is not installed"
# a .js file is not built: it is taken from the source tree, not from FT_HELPERS
js=$FT_SOURCE_DIR/tests/helpers/sc_node_server.js
script=$(readlink -f "$js")

# check_node FILE PID PORT CHILD: the node object of the Node.js process PID in the diagnosis
# JSON in FILE, checked against the server's ready line; prints the handle kinds, in order.
check_node() {
    python3 - "$@" "$script" <<'PY'
import json, sys
pid, port, child, script = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
d = json.load(open(sys.argv[1]))
d = d.get("diagnosis", d)
p = [p for p in d["processes"] if p["pid"] == pid]
assert p, "pid %d not in the snapshot" % pid
n = p[0].get("node")
assert n, "no node object on pid %d" % pid
def want(cond, what):
    if not cond:
        sys.exit("%s: %s" % (what, json.dumps(n, indent=1)))
want(n["entry"] == "script" and n["script"] == script, "the script")
want(n["loop"]["waiting"] and n["loop"]["syscall"] in ("epoll_wait", "epoll_pwait"), "the loop")
h = n["handles"]
listen = [x for x in h if x["kind"] == "listen"]
want(len(listen) == 1 and listen[0]["address"] == "127.0.0.1:" + port, "the listening socket")
conn = [x for x in h if x["kind"] == "connection"]
want(len(conn) == 2, "both ends of the connection to itself")
client = [x for x in conn if x["remote"] == "127.0.0.1:" + port]
want(len(client) == 1 and client[0]["state"] == "ESTABLISHED" and
     client[0]["peer"]["pid"] == pid, "the client connection, its peer held by itself")
kids = [x for x in h if x["kind"] == "child"]
want(kids == [{"kind": "child", "pid": child, "cmdline": "sleep 300"}], "the child")
timer = [x for x in h if x["kind"] == "timer"]
want(len(timer) == 1 and 0 < timer[0]["due_ms"] <= 30000, "the timer (setInterval 30 s)")
want(n["loop"]["timeout_ms"] == timer[0]["due_ms"], "the loop's timeout")
# libuv's own: the epoll set, its eventfd and the signal pipe, none of them a handle
inner = {x["fd"] for x in n["internal"]}
want(n["loop"]["epoll_fd"] in inner, "the epoll set as internal")
want(any("eventfd" in x["what"] for x in n["internal"]), "the eventfd as internal")
want(any("signal pipe" in x["what"] for x in n["internal"]), "the signal pipe as internal")
want(not inner & {x.get("fd", -1) for x in h}, "no internal descriptor among the handles")
want(all(x["kind"] in ("listen", "connection", "child", "timer") for x in h), "nothing else")
print(" ".join(x["kind"] for x in h))
PY
}

# ---- a hang under flowtrack run
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 1 -- "$NODE" "$js" >j 2>err
equals "$(jget j 'd["outcome"]')" hang "the outcome"
line=$(jget j 'd["log"]')
read -r _ pid _ addr _ child <<<"$line" || true
[ -n "${child:-}" ] || fail "the server did not get ready within the timeout: $line"
port=${addr##*:}
kinds=$(check_node j "$pid" "$port" "$child") || fail "the node object of the run"
equals "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" "$pid" "the culprit"
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" event_loop_alive "the cause"
contains "$(jget j 'd["diagnosis"]["culprit"]["why"]')" \
    "idle in its Node.js event loop (epoll_pwait on fd" "the culprit"
contains "$(jget j 'd["diagnosis"]["culprit"]["why"]')" \
    "kept alive by: listening 127.0.0.1:$port, connection 127.0.0.1:" "the culprit"
# the human text: one line for the Node.js process
file_contains err "    node: script $script; keeps the loop alive: listening 127.0.0.1:$port, connection "
file_contains err ", child pid $child (sleep 300), timer due within "
equals "$(grep -c '^    node: ' err)" 1 "node lines"
equals "$(jget j 'd["diagnosis"]["end"]["survivors"]')" "[]" "survivors"

# ---- the same program started outside flowtrack, found by flowtrack diagnose
"$NODE" "$js" "$T_DIR/ready" >"$T_DIR/bg.out" 2>&1 &
bg=$!
t_track $bg
for _ in $(seq 1 500); do
    [ -s "$T_DIR/ready" ] && break
    sleep 0.02
done
[ -s "$T_DIR/ready" ] || fail "the background server did not get ready: $(cat "$T_DIR/bg.out")"
read -r _ bpid _ baddr _ bchild <"$T_DIR/ready"
t_track $bchild
equals "$bpid" "$bg" "the background server's pid"
expect_rc 0 $OUTER $FT diagnose --no-stacks --json "$bg" >dj 2>err
bkinds=$(check_node dj "$bg" "${baddr##*:}" "$bchild") || fail "the node object of diagnose"
equals "$bkinds" "$kinds" "the handles of diagnose and of the run"
equals "$(jget dj 'd["culprit"]["cause"]')" event_loop_alive "the cause (diagnose)"
kill -0 "$bg" || fail "diagnose ended the server"
kill "$bg" "$bchild"
wait "$bg" 2>/dev/null || true
assert_gone "$bg"

# ---- a leak: the shell starts the server in the background and exits once it is ready
expect_rc 122 $OUTER $FT run --no-record --json --no-stacks --timeout 30 -- \
    sh -c '"$0" "$1" "$2" & while [ ! -s "$2" ]; do sleep 0.05; done; exit 0' \
    "$NODE" "$js" "$T_DIR/leak.ready" >j 2>err
equals "$(jget j 'd["outcome"]')" leak "the outcome"
read -r _ lpid _ laddr _ _ <"$T_DIR/leak.ready"
contains "$(jget j '[p["node"]["keeps_alive"] for p in d["diagnosis"]["processes"] if p["pid"] == '"$lpid"'][0]')" \
    "listening $laddr" "the left server's handles"

# ---- stuck in JavaScript: the frames named from the perf map (eu-stack only)
if command -v eu-stack >/dev/null; then
    spin=$(readlink -f "$FT_SOURCE_DIR/tests/helpers/sc_node_spin.js")
    expect_rc 124 $OUTER $FT run --no-record --json --timeout 1 -- "$NODE" --perf-basic-prof \
        --interpreted-frames-native-stack "$spin" >j 2>err
    spid=$(jget j 'd["log"].split()[1]')
    rm -f "/tmp/perf-$spid.map" # node never removes it
    equals "$(jget j 'd["diagnosis"]["stacks"]["tool"]')" eu-stack "the stack tool"
    equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" spinning "the cause"
    frames=$(jget j '"\n".join(d["diagnosis"]["processes"][0]["threads"][0].get("stack", []))')
    # the first JavaScript frame, whatever tier its code is in (~ interpreted, ^ baseline, * optimized)
    case "$(printf '%s\n' "$frames" | grep -m1 '^JS:')" in
    "JS:"?"spinForever $spin:6:"*) ;;
    *) fail "the innermost JavaScript frame: $frames" ;;
    esac
    contains "$frames" "handleRequest $spin:12:" "its caller"
    [ "$(jget j 'd["diagnosis"]["processes"][0]["node"]["js_frames"]')" -ge 2 ] ||
        fail "frames named: $(jget j 'd["diagnosis"]["processes"][0]["node"]')"
    file_contains err "node: script $spin; not waiting in its event loop: its main thread runs"
else
    echo "note: eu-stack is not installed: JavaScript frames from a perf map are not checked"
fi
assert_no_survivors
t_done
