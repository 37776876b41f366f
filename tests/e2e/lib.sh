# The harness of every end-to-end test (tests/e2e/t*.sh). Each test starts with
#     . "$(dirname "$0")/lib.sh"
# and ends with t_done. ctest gives it FLOWTRACK_BIN, FT_HELPERS, FT_SOURCE_DIR, FT_SHARED_DIR
# and FT_SANITIZED (tests/CMakeLists.txt). The test runs under `set -eEuo pipefail`, in its own
# temporary directory, which is also its working directory.
#
# Variables
#   T_NAME        the test's name (t1000-cli-basics)
#   T_DIR         its temporary directory, removed at exit
#   T_DB          its store, $T_DIR/store.db, exported as FLOWTRACK_DB (with FLOWTRACK_ACTOR=tester,
#                 NO_COLOR=1 and FLOWTRACK_TRACKER unset)
#   FT            the flowtrack binary; H the directory of the helper programs (FT_HELPERS)
#   OUTER         `timeout -k 5 90`, the outer bound of a command that could hang
#   LIB           the directory of sse.py, the Python clients of the server tests
#   FT_E2E_TAG    exported: every program the test starts carries it in its environment (a
#                 subshell of the test itself, `f &`, shows the test's own environment: t_track it)
#
# Ending
#   fail MSG              print "FAIL [T_NAME]: MSG" on the test's stderr (fd 3: also from inside
#                         a command whose stderr is redirected), then the tail of the server log
#                         when a server was started, and exit 1 at once
#   skip REASON           print "SKIP [T_NAME]: REASON" and exit 77 (ctest counts a skip)
#   t_done                the last line of every test: prints "T_NAME: ok" (a test that exits 0
#                         without reaching it fails)
# Checks
#   expect_code CODE CMD...     run CMD with its stdout and stderr captured in $OUT and $ERR;
#                               another exit status prints both, then fails
#   expect_rc CODE CMD...       run CMD with the caller's redirections (expect_rc 0 cmd >out 2>err);
#                               another exit status prints the tail of the files its output went
#                               to, then fails
#   contains STRING NEEDLE [WHAT]   STRING contains NEEDLE
#   file_contains FILE TEXT     FILE contains TEXT (a fixed string)
#   equals GOT WANT [WHAT]      GOT is WANT
#   CMD | has [grep options] PATTERN   CMD's output matches PATTERN (all of it is read: no SIGPIPE)
#   json EXPR <JSON             print a Python expression over the JSON on stdin, bound to d
#   jget FILE EXPR              the same over the JSON in FILE
#   json_content [KEY...] <JSON the JSON without ids and times (and KEYs), keys sorted: what
#                               two copies of the same content share
#   md_roundtrip FILE           FILE imported, its Markdown imported again: the same text and
#                               JSON content (two trackers, a and b, made and deleted)
# Processes
#   t_track PID                 kill PID at exit, whatever happens
#   tagged_pids                 the live processes carrying this test's FT_E2E_TAG
#   assert_no_survivors         fail when one of them is left
#   assert_gone PID             fail when PID is alive (a zombie is gone)
# The server (flowtrack serve on 127.0.0.1:0, its stderr in $T_DIR/server.log)
#   start_server [OPTIONS]      start it (as `$SERVE_WRAPPER flowtrack ...`; READY_TRIES x 50 ms
#                               for its ready file); sets SRV_PID and URL. FT_LOOPS (default 1)
#                               is its --loops (ctest: 2 for e2e.*, 1 for e2e.pg.* and e2e.loops1.*)
#   stop_server [SECONDS]       SIGTERM, a bounded wait, exit status 0 and every stream released
#   wait_exit SECONDS           wait for the exit of a server the test signalled; sets SRV_RC
#   ft ARGS...                  the CLI on the test's store, as 'tester'
#   api METHOD PATH [JSON]      print the HTTP status; the body is in $T_DIR/body
#   expect_status WANT GOT WHAT the HTTP status GOT is WANT
#   metric NAME                 one sample's value from /metrics ('' when absent)
#   srv_pids                    the serving processes (its workers with FT_LOOPS > 1), a,b,...
#   fd_count, wait_fds N        the server's open descriptors (summed over srv_pids); wait (1 s
#                               at most) until N
#   sse SCENARIO ARGS...        run a scenario of lib/sse.py
# The browser (tests/browser/dashboard.mjs: Debian's Chromium driven by playwright-core)
#   browser_start SCENARIO ARGS...  start a scenario in the background (output in
#                               $T_DIR/browser.out); browser_wait: its end, which must print ok
#   browser SCENARIO ARGS...    both
#   mcp_sdk_client MODE ARGS... the MCP SDK client (tests/mcp/client.mjs) to its end; Node exits
#                               within 2 s of closing
#   is_asan                     true for a sanitizer build (FT_SANITIZED=1)
#
# PostgreSQL mode
#   FT_PG=1 (the e2e.pg.* copies): T_DB, and FLOWTRACK_DB, is a database (postgres://...) of
#   its own; pg_mode is true then. Its cluster is the ctest run's (FT_PG_SHARED names the
#   file of tests/pg/pg-shared.sh; the test's databases are dropped at exit) or, run alone or
#   with T_PG_OWN=1 set before lib.sh is sourced (a test that stops its cluster), a throwaway
#   one the harness starts for the test and stops at exit (T_PG_DIR: its directory).
#   T_PG is the cluster's base URL.
#   pg_newdb VAR NAME           create another database of the test's; its URL into VAR
# Remote mode
#   FT_REMOTE=1 (the e2e.remote.* copies of the CLI tests): $FT is lib/ft-remote, which runs
#   each command as `flowtrack --server URL ...` on a server of its store, started on first
#   use; remote_mode is true then. A test whose subject has no server counterpart skips.
#   The harness stops those servers at the end and fails the test when one did not stop
#   cleanly or its log holds a sanitizer report.
#
# At exit a trap kills the tracked pids, kills a server still running (the test fails), kills
# the processes still carrying FT_E2E_TAG (the test fails), removes T_DIR and exits 0 (passed),
# 77 (skipped, through skip only) or 1 (failed, also by set -e: the failed command is named).
# Every wait of the harness is bounded.
set -eEuo pipefail

: "${FLOWTRACK_BIN:?FLOWTRACK_BIN must point at the built flowtrack}"
FT=$FLOWTRACK_BIN
H=${FT_HELPERS:-}
T_NAME=$(basename "$0" .sh)
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/lib" && pwd)
OUTER="timeout -k 5 90"
FT_E2E_TAG="ft-e2e-$$-$RANDOM"
export FT_E2E_TAG
T_PIDS=()
T_ENDED=    # how the test ended: done, fail or skip
T_LAST_ERR= # the last command that failed, for a test ended by set -e
SRV_PID=
SRV_RC=
URL=
SERVE_WRAPPER=${SERVE_WRAPPER:-}

# fd 3 is the test's own stderr, even inside a command whose stderr is redirected.
exec 3>&2

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ft-e2e.XXXXXX")
T_DB=$T_DIR/store.db
if [ "${FT_REMOTE:-0}" = 1 ]; then
    export FT_REAL=$FLOWTRACK_BIN FT_REMOTE_DIR=$T_DIR/.remote
    FT=$LIB/ft-remote
    T_NAME=remote.$T_NAME
fi
export FLOWTRACK_DB=$T_DB FLOWTRACK_ACTOR=tester NO_COLOR=1
unset FLOWTRACK_TRACKER

# ---- ending ------------------------------------------------------------------------------

t_report() {
    echo "FAIL [$T_NAME]: $*" >&3
}

fail() {
    t_report "$@"
    if [ -f "$T_DIR/server.log" ]; then
        echo "--- last lines of the server log" >&3
        tail -n 25 "$T_DIR/server.log" >&3
    fi
    T_ENDED=fail
    exit 1
}

skip() {
    echo "SKIP [$T_NAME]: $*" >&3
    T_ENDED=skip
    exit 77
}

t_done() {
    T_ENDED=done
    echo "$T_NAME: ok"
}

# "CMDLINE(pid) ..." of the given pids.
t_describe() {
    local p
    for p in "$@"; do
        printf '%s(%s) ' "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" "$p"
    done
}

# Live (not zombie) among the given pids.
t_alive() {
    local p st
    for p in "$@"; do
        st=$(sed 's/.*) \(.\).*/\1/' "/proc/$p/stat" 2>/dev/null) || continue
        case "$st" in Z | X | '') ;; *) echo "$p" ;; esac
    done
}

t_exit() {
    local rc=$? pid left i
    set +eE
    trap - ERR
    [ -n "$T_AT_EXIT" ] && eval "$T_AT_EXIT"
    case "$rc:$T_ENDED" in
    0:done | 1:fail | 77:skip) ;;
    0:*)
        t_report "the test ended before t_done"
        rc=1
        ;;
    *:fail | *:skip) ;;
    *)
        # the command's first line only (a here-document follows it)
        t_report "exit status $rc${T_LAST_ERR:+ after a failed command (${T_LAST_ERR%%$'\n'*})}"
        rc=1 # even for 77: a skip is only through skip
        ;;
    esac
    # the test's background processes: only while still ours (a child not yet reaped, or one
    # carrying the tag), as the test may have reaped one and another test's process reused its
    # pid (pids wrap at 32768 here)
    for pid in "${T_PIDS[@]:-}"; do
        [ -n "$pid" ] && t_mine "$pid" && kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${T_PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null
    done
    # a server the test did not stop
    if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
        if [ -z "$(t_alive "$SRV_PID")" ]; then
            t_report "the server (pid $SRV_PID) exited but the test did not wait for it"
        else
            t_report "the server (pid $SRV_PID) was still running when the test ended"
        fi
        kill -KILL "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
        if [ "$T_ENDED" != fail ] && [ -f "$T_DIR/server.log" ]; then
            echo "--- last lines of the server log" >&3
            tail -n 25 "$T_DIR/server.log" >&3
        fi
        rc=1
    fi
    # anything else the test started (first: a command still running could start a server of
    # remote mode after the servers are stopped)
    left=$(tagged_pids)
    if [ -n "$left" ]; then
        t_report "killing processes that survived the test: $(t_describe $left)"
        kill -KILL $left 2>/dev/null
        for ((i = 0; i < 100; i++)); do
            [ -z "$(t_alive $left)" ] && break
            sleep 0.02
        done
        left=$(t_alive $left)
        [ -z "$left" ] || t_report "still alive after SIGKILL: $left"
        rc=1
    fi
    # the servers of remote mode (a remote copy that ran nothing on a server proved nothing)
    t_stop_remote || rc=1
    if remote_mode && [ "$T_ENDED" = done ] && ! ls "$T_DIR"/.remote/*/log >/dev/null 2>&1; then
        t_report "remote mode: no command ran on a server"
        rc=1
    fi
    cd /
    [ -n "$T_PG_DIR" ] && "$FT_SOURCE_DIR/tests/pg/pg-cluster.sh" stop "$T_PG_DIR"
    [ -z "$T_PG_DIR" ] && for d in $T_PG_DBS; do
        "$FT_SOURCE_DIR/tests/pg/pg-cluster.sh" dropdb "$T_PG" "$d" 2>/dev/null ||
            echo "cannot drop the test's database $d" >&3
    done
    rm -rf "$T_DIR"
    exit "$rc"
}
# Stop the servers ft-remote started (not children of the test: polled, not waited for);
# false when one did not stop cleanly or reported a sanitizer error.
t_stop_remote() {
    local d pid i ok=0 p pp
    # every server of this test, found by the ready file on its command line: a race (a
    # command killed while it started one) can leave one that no pid file names
    # (the arguments in /proc/PID/cmdline are NUL-separated: the directory alone is matched; a
    # server's workers, children of a server matched here, are its own to stop)
    local strays=
    for p in $(grep -lsF -- "$T_DIR/.remote/" /proc/[0-9]*/cmdline | cut -d/ -f3); do
        pp=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
        [ -n "$pp" ] && grep -qsF -- "$T_DIR/.remote/" "/proc/$pp/cmdline" && continue
        d=$({ tr '\0' '\n' <"/proc/$p/cmdline"; } 2>/dev/null | grep -A1 -x -- --ready-file | tail -1)
        d=${d%/url}
        [ -n "$d" ] && [ "$(cat "$d/pid" 2>/dev/null)" != "$p" ] && {
            t_report "a second server of ${d#$T_DIR/} (pid $p), named by no pid file: stopped"
            kill -TERM "$p" 2>/dev/null
            strays="$strays $p"
            ok=1
        }
    done
    for p in $strays; do
        for ((i = 0; i < 500; i++)); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.02
        done
        kill -KILL "$p" 2>/dev/null
    done
    for d in "$T_DIR"/.remote/*/; do
        [ -f "$d/pid" ] || continue
        pid=$(cat "$d/pid")
        t_is_server_of "$pid" "$d" || pid=0 # gone (its pid may be another process's now)
        [ "$pid" != 0 ] && kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 500; i++)); do
            [ -z "$(t_alive "$pid")" ] && break
            sleep 0.02
        done
        if [ "$pid" != 0 ] && [ -n "$(t_alive "$pid")" ]; then
            t_report "the server of $d did not stop within 10 s"
            t_is_server_of "$pid" "$d" && kill -KILL "$pid" 2>/dev/null
            ok=1
        fi
        if grep -q 'Sanitizer\|runtime error' "$d/log" || ! grep -q 'event=stop streams_open=0' "$d/log"; then
            t_report "the server of $d did not stop cleanly:"
            tail -n 30 "$d/log" >&3
            ok=1
        fi
    done
    return $ok
}

remote_mode() {
    [ "${FT_REMOTE:-0}" = 1 ]
}

trap t_exit EXIT
trap 'T_LAST_ERR="${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
trap 't_report "interrupted by SIGHUP"; T_ENDED=fail; exit 1' HUP
trap 't_report "interrupted by SIGINT"; T_ENDED=fail; exit 1' INT
trap 't_report "interrupted by SIGTERM"; T_ENDED=fail; exit 1' TERM

# PostgreSQL mode (FT_PG=1, the e2e.pg.* copies): the test's store is a database of its own
# on the run's shared cluster, or on a throwaway cluster of its own (tests/pg/pg-cluster.sh),
# stopped at exit. Not tagged: the cluster is the harness's, not a process the test left behind.
T_PG_DIR=
T_PG_DBS=
pg_mode() {
    [ "${FT_PG:-0}" = 1 ]
}
# pg_newdb VAR NAME: a database of the test's (dropped at exit on the shared cluster); its
# URL into VAR
pg_newdb() {
    local name=ft${$}_$2 url
    url=$("$FT_SOURCE_DIR/tests/pg/pg-cluster.sh" createdb "$T_PG" "$name") || return 1
    T_PG_DBS="$T_PG_DBS $name"
    printf -v "$1" '%s' "$url"
}
if pg_mode; then
    if [ -z "${T_PG_OWN:-}" ] && [ -n "${FT_PG_SHARED:-}" ] && [ -f "$FT_PG_SHARED" ]; then
        T_PG=$(cat "$(cat "$FT_PG_SHARED")/url") || fail "cannot read $FT_PG_SHARED"
    else
        T_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ft-pg.XXXXXX")
        T_PG=$(env -u FT_E2E_TAG WATCH_PID=$$ "$FT_SOURCE_DIR/tests/pg/pg-cluster.sh" start "$T_PG_DIR") ||
            fail "no PostgreSQL cluster (see tests/pg/pg-cluster.sh)"
    fi
    pg_newdb T_DB store || fail "cannot create the test's database"
    T_NAME=pg.$T_NAME
    export FLOWTRACK_DB=$T_DB
fi

# ---- checks ------------------------------------------------------------------------------

# expect_code CODE CMD...: run CMD, check its exit status; stdout/stderr kept in $OUT/$ERR.
expect_code() {
    local want=$1 got=0
    shift
    "$@" >"$T_DIR/.out" 2>"$T_DIR/.err" || got=$?
    OUT=$(cat "$T_DIR/.out")
    ERR=$(cat "$T_DIR/.err")
    if [ "$got" != "$want" ]; then
        echo "--- stdout (last 40 lines)" >&3
        tail -n 40 "$T_DIR/.out" >&3
        echo "--- stderr (last 40 lines)" >&3
        tail -n 40 "$T_DIR/.err" >&3
        fail "exit status $got, want $want: $*"
    fi
}

# The last lines of the files this shell's stdout and stderr are redirected to.
t_show_output() {
    local fd f seen= me=$BASHPID
    for fd in 1 2; do
        f=$(readlink "/proc/$me/fd/$fd" 2>/dev/null) || continue
        [ -f "$f" ] && [ "$f" != "$seen" ] || continue
        seen=$f
        echo "--- $f (fd $fd, last 40 lines)" >&3
        tail -n 40 "$f" >&3
    done
}

# expect_rc CODE CMD...: run CMD as redirected by the caller, check its exit status.
expect_rc() {
    local want=$1 got=0
    shift
    "$@" || got=$?
    if [ "$got" != "$want" ]; then
        t_show_output
        fail "exit status $got, want $want: $*"
    fi
}

# contains STRING NEEDLE [WHAT]
contains() {
    case "$1" in
    *"$2"*) ;;
    *) fail "${3:-output} does not contain '$2': ${1:0:400}" ;;
    esac
}

# file_contains FILE TEXT: the file contains TEXT (a fixed string).
file_contains() {
    grep -qF -- "$2" "$1" || {
        echo "--- $1 (last 200 lines)" >&3
        tail -n 200 "$1" >&3
        fail "'$1' lacks: $2"
    }
}

equals() {
    [ "$1" == "$2" ] || fail "${3:-value}: got '${1:0:200}', want '${2:0:200}'"
}

# `cmd | has [grep options] PATTERN`: true when cmd's output matches. It reads all
# of its input first, so the writer never gets SIGPIPE (with pipefail, `cmd | grep -q`
# fails at random when grep stops reading before cmd finishes writing).
has() {
    local s
    s=$(cat)
    grep -q "$@" <<<"$s"
}

# json EXPR: evaluate a Python expression over the JSON on stdin (bound to d).
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# jget FILE EXPR: the same over the JSON in FILE.
jget() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

json_content() {
    python3 -c '
import json, sys
drop = {"id", "at"} | set(sys.argv[1:])
def strip(v):
    if isinstance(v, dict):
        return {k: strip(w) for k, w in v.items() if k not in drop and not k.endswith("_at")}
    if isinstance(v, list):
        return [strip(w) for w in v]
    return v
print(json.dumps(strip(json.loads(sys.stdin.read())), sort_keys=True))' "$@"
}

md_roundtrip() {
    local x
    "$FT" import --slug a "$1" >/dev/null
    "$FT" show --format md a >"$T_DIR/a.md"
    "$FT" import --slug b "$T_DIR/a.md" >/dev/null
    "$FT" show --format text a >"$T_DIR/a.txt"
    "$FT" show --format text b >"$T_DIR/b.txt"
    cmp "$T_DIR/a.txt" "$T_DIR/b.txt" || fail "$1: Markdown round trip differs"
    for x in a b; do
        "$FT" show --json $x | json_content slug >"$T_DIR/$x.j"
    done
    cmp "$T_DIR/a.j" "$T_DIR/b.j" || fail "$1: JSON content differs after the Markdown round trip"
    "$FT" delete a >/dev/null
    "$FT" delete b >/dev/null
}

# ---- processes ---------------------------------------------------------------------------

# Remember a background pid so that it is killed whatever happens.
# t_at_exit CMD: run CMD (eval) first when the test ends, however it ends
T_AT_EXIT=
t_at_exit() {
    T_AT_EXIT="$T_AT_EXIT${T_AT_EXIT:+; }$1"
}
t_track() { T_PIDS+=("$1"); }

# true when pid is this shell's child (reaped or not: a zombie keeps its pid) or carries the tag
t_mine() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    set -- "$1" $st
    [ "$3" = "$$" ] || [ "$3" = "${BASHPID:-$$}" ] ||
        tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -qx "FT_E2E_TAG=$FT_E2E_TAG"
}

# true when pid is the server of a remote-mode directory (its command line names the
# directory's ready file): a pid read from a file may have been reused since
t_is_server_of() {
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "--ready-file ${2%/}/url"
}

# Pids of live (not zombie) processes carrying this test's tag.
tagged_pids() {
    env -u FT_E2E_TAG python3 - "$FT_E2E_TAG" <<'PY'
import os, sys
tag = ("FT_E2E_TAG=" + sys.argv[1]).encode()
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        env = open("/proc/%s/environ" % d, "rb").read().split(b"\0")
        st = open("/proc/%s/stat" % d).read()
    except OSError:
        continue
    if tag in env and st[st.rindex(")") + 2] not in "ZX":
        print(d)
PY
}

# Fail when a process started by this test is still alive.
assert_no_survivors() {
    local left
    left=$(tagged_pids)
    [ -z "$left" ] || fail "processes survived: $(t_describe $left)"
}

# A pid is gone (kill -0 fails), or is a zombie waiting for its reaper.
assert_gone() {
    local p=$1
    if kill -0 "$p" 2>/dev/null; then
        local st
        st=$(sed 's/.*) \(.\).*/\1/' /proc/$p/stat 2>/dev/null || echo gone)
        [ "$st" = Z ] || [ "$st" = gone ] || fail "pid $p is still alive (state $st)"
    fi
}

# ---- the server --------------------------------------------------------------------------

# true when the binary is built with AddressSanitizer.
is_asan() {
    [ "${FT_SANITIZED:-0}" = 1 ]
}

ft() {
    "$FT" --db "$T_DB" --actor tester "$@"
}

# start_server [serve options...]: sets SRV_PID and URL. The server is a direct child of the
# test's shell: stop_server and wait_exit reap it, so a server stopped by the test is gone.
start_server() {
    [ -z "$SRV_PID" ] || fail "start_server: the server $SRV_PID is still running"
    rm -f "$T_DIR/ready"
    # shellcheck disable=SC2086
    $SERVE_WRAPPER "$FT" --db "$T_DB" --actor api serve --listen 127.0.0.1:0 \
        --loops "$FT_LOOPS" --ready-file "$T_DIR/ready" "$@" 2>"$T_DIR/server.log" &
    SRV_PID=$!
    local i
    for i in $(seq 1 "${READY_TRIES:-200}"); do
        [ -s "$T_DIR/ready" ] && break
        kill -0 "$SRV_PID" 2>/dev/null || fail "the server exited before listening"
        sleep 0.05
    done
    [ -s "$T_DIR/ready" ] || fail "the server did not write its ready file"
    URL=$(cat "$T_DIR/ready")
    grep -q "^flowtrack: listening on $URL\$" "$T_DIR/server.log" ||
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
    # one stop line per worker, each with every stream released
    grep -q 'event=stop streams_open=0 flushing=0' "$T_DIR/server.log" ||
        fail "the server did not stop with every stream released"
    grep -E 'event=stop streams_open=[1-9]|event=stop .*flushing=[1-9]' "$T_DIR/server.log" &&
        fail "a worker did not stop with every stream released"
    return 0
}

# metric NAME: one sample's value from /metrics ('' when absent).
metric() {
    curl -sS --max-time 5 "$URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

: "${FT_LOOPS:=1}" # the servers' --loops (start_server)

# srv_pids: the processes that serve, comma-separated: the workers of a server with several
# loops (the children of SRV_PID running serve), else SRV_PID itself.
srv_pids() {
    local w
    w=$(pgrep -P "$SRV_PID" -f -- ' serve ' | paste -sd, -)
    echo "${w:-$SRV_PID}"
}

# srv_anon_kb: the serving processes' anonymous resident memory (RssAnon), summed, in kB.
srv_anon_kb() {
    local p n=0
    for p in $(srv_pids | tr , ' '); do
        n=$((n + $(awk '/^RssAnon/ { print $2 }' "/proc/$p/status")))
    done
    echo "$n"
}

fd_count() {
    local p n=0
    for p in $(srv_pids | tr , ' '); do
        n=$((n + $(ls "/proc/$p/fd" | wc -l)))
    done
    echo "$n"
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

# mcp_sdk_client MODE ARGS...: run tests/mcp/client.mjs (the official MCP SDK client) to its
# end; it must succeed and its Node process exit within 2 s of closing. Output in
# $T_DIR/node.out (also echoed on stderr).
mcp_sdk_client() {
    local dir=$FT_SOURCE_DIR/tests/mcp rc=0 pid done_ms closed
    [ -d "$dir/node_modules/@modelcontextprotocol/sdk" ] ||
        fail "the MCP SDK is not installed: 'make test' runs 'npm ci' in tests/mcp"
    $OUTER node "$dir/client.mjs" "$@" >"$T_DIR/node.out" 2>"$T_DIR/node.err" &
    pid=$!
    t_track $pid
    wait $pid || rc=$?
    done_ms=$(date +%s%3N)
    cat "$T_DIR/node.out" >&2
    [ "$rc" = 0 ] || fail "the SDK client failed ($rc): $(tail -5 "$T_DIR/node.err")"
    closed=$(sed -n 's/^closed //p' "$T_DIR/node.out")
    [ -n "$closed" ] || fail "the client did not close"
    [ $((done_ms - closed)) -lt 2000 ] || fail "node took $((done_ms - closed)) ms to exit after close"
}

browser_start() {
    local dir=$FT_SOURCE_DIR/tests/browser
    [ -d "$dir/node_modules/playwright-core" ] ||
        fail "playwright-core is not installed: 'make test' runs 'npm ci' in tests/browser"
    [ -x "${FT_CHROMIUM:-/usr/bin/chromium}" ] ||
        fail "no Chromium at ${FT_CHROMIUM:-/usr/bin/chromium}: 'make test' installs Debian's chromium"
    FT_SANITIZED=${FT_SANITIZED:-0} timeout -k 5 300 node "$dir/dashboard.mjs" "$@" \
        >"$T_DIR/browser.out" 2>&1 &
    BROWSER_PID=$!
    t_track $BROWSER_PID
}

browser_wait() {
    local rc=0
    wait "$BROWSER_PID" || rc=$?
    cat "$T_DIR/browser.out" >&2
    [ "$rc" = 0 ] || fail "the browser scenario failed ($rc): $(grep FAIL "$T_DIR/browser.out" | tail -3)"
    grep -qx ok "$T_DIR/browser.out" || fail "the browser scenario did not print ok"
}

browser() {
    browser_start "$@"
    browser_wait
}

# api METHOD PATH [JSON]: print the HTTP status; the body is in $T_DIR/body.
api() {
    local m=$1 p=$2
    shift 2
    if [ $# -gt 0 ]; then
        curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -X "$m" \
            -H 'Content-Type: application/json' --data-binary "$1" "$URL$p"
    else
        curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -X "$m" "$URL$p"
    fi
}

expect_status() {
    local want=$1 got=$2 what=$3
    [ "$got" = "$want" ] || fail "$what: status $got, expected $want: $(cat "$T_DIR/body" 2>/dev/null)"
}

cd "$T_DIR"
