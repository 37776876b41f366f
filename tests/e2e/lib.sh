# Shared helpers of the end-to-end tests. Each test sources this file, works in
# its own temporary directory and leaves nothing behind: the EXIT trap kills
# every process the test registered and removes the directory.
set -euo pipefail

: "${FLOWTRACK_BIN:?FLOWTRACK_BIN must point at the built flowtrack}"
FT=$FLOWTRACK_BIN
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ft-e2e.XXXXXX")
T_PIDS=()
T_FAILS=0
T_NAME=$(basename "$0" .sh)
export FLOWTRACK_DB="$T_DIR/store.db" FLOWTRACK_ACTOR=tester NO_COLOR=1
unset FLOWTRACK_TRACKER

t_cleanup() {
    local rc=$?
    for pid in "${T_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${T_PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    rm -rf "$T_DIR"
    if [ $rc -eq 0 ] && [ "$T_FAILS" -gt 0 ]; then
        rc=1
    fi
    exit $rc
}
trap t_cleanup EXIT

# `cmd | has [grep options] PATTERN`: true when cmd's output matches. It reads all
# of its input first, so the writer never gets SIGPIPE (with pipefail, `cmd | grep -q`
# fails at random when grep stops reading before cmd finishes writing).
has() {
    local s
    s=$(cat)
    grep -q "$@" <<<"$s"
}
cd "$T_DIR"

# Remember a background pid so that it is killed whatever happens.
t_track() { T_PIDS+=("$1"); }

fail() {
    echo "FAIL [$T_NAME]: $*" >&2
    T_FAILS=$((T_FAILS + 1))
}

# expect_code CODE CMD...: run CMD, check its exit status; stdout/stderr kept in $OUT/$ERR.
expect_code() {
    local want=$1
    shift
    set +e
    "$@" >"$T_DIR/.out" 2>"$T_DIR/.err"
    local got=$?
    set -e
    OUT=$(cat "$T_DIR/.out")
    ERR=$(cat "$T_DIR/.err")
    if [ "$got" != "$want" ]; then
        fail "exit $got (want $want): $*"
        echo "  stdout: ${OUT:0:400}" >&2
        echo "  stderr: ${ERR:0:400}" >&2
    fi
}

# contains HAYSTACK NEEDLE [WHAT]
contains() {
    case "$1" in
    *"$2"*) ;;
    *) fail "${3:-output} does not contain '$2': ${1:0:400}" ;;
    esac
}

equals() {
    [ "$1" == "$2" ] || fail "${3:-value}: got '${1:0:200}', want '${2:0:200}'"
}

# json EXPR: evaluate a Python expression over the JSON on stdin (bound to d).
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

t_done() {
    if [ "$T_FAILS" -gt 0 ]; then
        echo "$T_NAME: $T_FAILS failure(s)" >&2
        exit 1
    fi
    echo "$T_NAME: ok"
}
