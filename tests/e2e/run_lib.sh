# Shared by the runner's end-to-end tests (sourced; not a test itself).
#
# Every process a test starts inherits FT_E2E_TAG in its environment. The
# EXIT trap finds any such process still alive, kills it and fails the test,
# so nothing a test starts survives it, even when the test itself fails.
set -u

FT=${FLOWTRACK_BIN:?FLOWTRACK_BIN not set}
H=${FT_HELPERS:?FT_HELPERS not set}
FT_E2E_TAG="ft-e2e-$$-$RANDOM"
export FT_E2E_TAG
TMP=$(mktemp -d)
export FLOWTRACK_DB="$TMP/flowtrack.db"
unset FLOWTRACK_TRACKER
# The outer bound of any single flowtrack invocation: a runner bug cannot hang ctest.
OUTER="timeout -k 5 90"

# fd 3 is the test's own stderr, even inside a command whose stderr is redirected
exec 3>&2
fail() {
    echo "FAIL: $*" >&3
    exit 1
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
    [ -z "$left" ] || fail "processes survived: $(for p in $left; do tr '\0' ' ' </proc/$p/cmdline 2>/dev/null; echo "($p)"; done)"
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

cleanup() {
    local rc=$? left
    left=$(tagged_pids)
    if [ -n "$left" ]; then
        echo "FAIL: killing survivors: $left" >&3
        kill -9 $left 2>/dev/null
        rc=1
    fi
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT

# jq-like reads with python3: jget FILE 'd["outcome"]'
jget() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# expect_rc WANT CMD...: run and check the exit status.
expect_rc() {
    local want=$1 got
    shift
    "$@"
    got=$?
    [ "$got" = "$want" ] || fail "exit status $got, want $want: $*"
}

# contains FILE TEXT: the file contains TEXT (fixed string).
contains() {
    grep -qF -- "$2" "$1" || { echo "---- $1" >&3; cat "$1" >&3; fail "'$1' lacks: $2"; }
}
