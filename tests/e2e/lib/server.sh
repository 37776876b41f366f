# Shared by the server's end-to-end tests (tests/e2e/t4*-server-*.sh): start a server on port 0
# in a temporary directory, stop it, and make sure it is gone whatever happens to the test.
#   . "$(dirname "$0")/lib/server.sh"; start_server [serve options]; ...; stop_server
# Every wait is bounded; a trap kills a server left running and fails the test.
set -euo pipefail

: "${FLOWTRACK_BIN:?FLOWTRACK_BIN must name the flowtrack binary}"
LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
T="$(mktemp -d "${TMPDIR:-/tmp}/ft-e2e.XXXXXX")"
SRV_PID=
URL=
DB="$T/store.db"
SERVE_WRAPPER=${SERVE_WRAPPER:-}

# `cmd | has [grep options] PATTERN`: true when cmd's output matches. It reads all
# of its input first, so the writer never gets SIGPIPE (with pipefail, `cmd | grep -q`
# fails at random when grep stops reading before cmd finishes writing).
has() {
    local s
    s=$(cat)
    grep -q "$@" <<<"$s"
}

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$T/server.log" ]; then
        echo "--- last lines of the server log" >&2
        tail -n 25 "$T/server.log" >&2
    fi
    exit 1
}

cleanup() {
    local rc=$?
    if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
        kill -KILL "$SRV_PID" 2>/dev/null || true
        wait "$SRV_PID" 2>/dev/null || true
        echo "FAIL: the server (pid $SRV_PID) was still running when the test ended" >&2
        rc=1
    fi
    # Any client helper still running belongs to this test.
    local kids
    kids=$(jobs -p) || true
    [ -n "$kids" ] && kill $kids 2>/dev/null || true
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT

# 1 when the binary is built with AddressSanitizer.
is_asan() {
    [ "${FT_SANITIZED:-0}" = 1 ]
}

ft() {
    "$FLOWTRACK_BIN" --db "$DB" --actor tester "$@"
}

# start_server [serve options...]: sets SRV_PID and URL.
start_server() {
    rm -f "$T/ready"
    # shellcheck disable=SC2086
    $SERVE_WRAPPER "$FLOWTRACK_BIN" --db "$DB" --actor api serve --listen 127.0.0.1:0 \
        --ready-file "$T/ready" "$@" 2>"$T/server.log" &
    SRV_PID=$!
    local i
    for i in $(seq 1 ${READY_TRIES:-200}); do
        [ -s "$T/ready" ] && break
        kill -0 "$SRV_PID" 2>/dev/null || fail "the server exited before listening"
        sleep 0.05
    done
    [ -s "$T/ready" ] || fail "the server did not write its ready file"
    URL=$(cat "$T/ready")
    grep -q "^flowtrack: listening on $URL\$" "$T/server.log" ||
        fail "no 'flowtrack: listening on $URL' line on stderr"
}

# wait_exit SECONDS: wait for the server to exit; sets SRV_RC; fails past the bound.
wait_exit() {
    local limit=$1 i n
    n=$(awk -v s="$limit" 'BEGIN { print int(s * 50) }')
    for ((i = 0; i < n; i++)); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.02
    done
    kill -0 "$SRV_PID" 2>/dev/null && fail "the server did not exit within ${limit}s"
    SRV_RC=0
    wait "$SRV_PID" || SRV_RC=$?
    SRV_PID=
}

# stop_server [SECONDS]: SIGTERM, bounded wait, exit status 0 and a clean stop line.
stop_server() {
    kill -TERM "$SRV_PID"
    wait_exit "${1:-10}"
    [ "$SRV_RC" -eq 0 ] || fail "the server exited with status $SRV_RC"
    grep -q 'event=stop streams_open=0 flushing=0' "$T/server.log" ||
        fail "the server did not stop with every stream released"
}

# metric NAME: one sample's value from /metrics ('' when absent).
metric() {
    curl -sS --max-time 5 "$URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

fd_count() {
    ls "/proc/$SRV_PID/fd" | wc -l
}

# wait_fds N: the server's descriptor count returns to N within 1 s (a client's connection
# may take a moment to be closed on the server's side).
wait_fds() {
    local i n
    for i in $(seq 1 50); do
        n=$(fd_count)
        [ "$n" = "$1" ] && return 0
        sleep 0.02
    done
    fail "the server holds $n descriptors, baseline $1"
}

sse() {
    python3 "$LIB/sse.py" "$@"
}

# api METHOD PATH [JSON]: print "STATUS BODY".
api() {
    local m=$1 p=$2
    shift 2
    if [ $# -gt 0 ]; then
        curl -sS --max-time 10 -o "$T/body" -w '%{http_code}' -X "$m" \
            -H 'Content-Type: application/json' --data-binary "$1" "$URL$p"
    else
        curl -sS --max-time 10 -o "$T/body" -w '%{http_code}' -X "$m" "$URL$p"
    fi
}

expect_status() {
    local want=$1 got=$2 what=$3
    [ "$got" = "$want" ] || fail "$what: status $got, expected $want: $(cat "$T/body" 2>/dev/null)"
}
