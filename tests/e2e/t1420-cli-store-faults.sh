#!/usr/bin/env bash
# The store's disk fails under a command (the fault hook of the test builds, FLOWTRACK_FAULTS_FILE,
# docs/operations.md): a write that hits a failing write or sync, or a full disk, and a read
# that hits a failing read, each say so in one line on stderr and exit 1; the store is left as
# it was (no entry, no event, integrity ok), and the same command goes through once the fault
# is cleared. In remote mode the server of the store has the faults and the command line says
# what the server answered.
. "$(dirname "$0")/lib.sh"

# Without the hook (a build with FT_FAULTS=OFF) the variables mean nothing: nothing to test.
if FLOWTRACK_FAULTS=nonsense=1 "$FLOWTRACK_BIN" --db "$T_DIR/probe.db" init >/dev/null 2>"$T_DIR/probe.err"; then
    skip "this build has no storage fault hook (FT_FAULTS=OFF)"
fi
file_contains "$T_DIR/probe.err" "FLOWTRACK_FAULTS: fault spec: 'nonsense' is not one of"

# Every process of the test reads its faults from this file (a server of remote mode too).
export FLOWTRACK_FAULTS_FILE=$T_DIR/faults
arm() {
    printf '%s\n' "$1" >"$FLOWTRACK_FAULTS_FILE.tmp"
    mv "$FLOWTRACK_FAULTS_FILE.tmp" "$FLOWTRACK_FAULTS_FILE"
}
disarm() { rm -f "$FLOWTRACK_FAULTS_FILE"; }

ft init >/dev/null
ft create --slug a 'Faults' >/dev/null
ft -t a item add 'acknowledged one' >/dev/null
ft -t a item add 'acknowledged two' >/dev/null

# What a reader of the file finds: items, events, the last event, integrity.
state() {
    sqlite3 "$T_DB" "SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM events),
        (SELECT max(seq) FROM events); PRAGMA integrity_check" | tr '\n' ' '
}

# check SPEC WORDS CMD...: CMD fails with exit 1 and one line naming the failure; nothing
# changed on the file; cleared, CMD goes through.
check() {
    local spec=$1 words=$2 before after
    shift 2
    before=$(state)
    arm "$spec"
    expect_rc 1 "$@" >"$T_DIR/out" 2>"$T_DIR/err"
    disarm
    equals "$(wc -l <"$T_DIR/err")" 1 "$spec: lines on stderr ($(cat "$T_DIR/err"))"
    grep -q "^flowtrack: .*$words" "$T_DIR/err" || fail "$spec: stderr is '$(cat "$T_DIR/err")', not '$words'"
    [ ! -s "$T_DIR/out" ] || fail "$spec: something on stdout: $(head -3 "$T_DIR/out")"
    after=$(state)
    equals "$after" "$before" "$spec: the store after the failed command"
    echo "$spec: '$(cat "$T_DIR/err")', exit 1, store unchanged"
    expect_rc 0 "$@" >"$T_DIR/out" 2>"$T_DIR/err"
}

check "write=1,times=0" "storage: disk I/O error (write)" ft -t a item add 'during a write fault'
check "full=1,times=0" "storage full: database or disk is full" ft -t a item add 'on a full disk'
check "fsync=1,times=0" "storage: disk I/O error (fsync)" ft -t a item add 'during a sync fault'
check "write=1,times=0" "storage: disk I/O error (write)" ft -t a item done 1
check "read=1,times=0" "storage: disk I/O error (read)" ft show a

# Every acknowledged write is there, once: the two first, and each command that went through
# after its fault was cleared (three adds; item 1 done).
ft --json show a >"$T_DIR/show.json"
equals "$(jget "$T_DIR/show.json" '",".join(i["text"] for i in d["items"])')" \
    "acknowledged one,acknowledged two,during a write fault,on a full disk,during a sync fault" "items"
equals "$(jget "$T_DIR/show.json" 'd["items"][0]["state"]')" "done" "item 1"
equals "$(ft history -t a --kind item. --json | wc -l)" 6 "item events"
equals "$(sqlite3 "$T_DB" 'PRAGMA integrity_check')" ok "integrity"

# A malformed spec is refused before the store is touched (not in remote mode: the command
# line then opens no store, its server does).
if ! remote_mode; then
    before=$(state)
    FLOWTRACK_FAULTS='write=0' expect_rc 1 ft -t a item add 'never' 2>"$T_DIR/err"
    file_contains "$T_DIR/err" "flowtrack: FLOWTRACK_FAULTS: fault spec: 'write=0' is not a count"
    equals "$(state)" "$before" "store after a malformed spec"
fi
t_done
