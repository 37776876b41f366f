#!/usr/bin/env bash
# The store's disk fails under a running server (the fault hook of the test builds,
# FLOWTRACK_FAULTS_FILE, docs/operations.md), and then recovers:
#  - a write under a failing write or sync answers 500, on a full disk 507, each with a JSON
#    error naming the failure; nothing of it is visible (items, trackers, states, events) and
#    reads go on;
#  - a read under a failing read answers 500; a stream that must replay the log ends with an
#    error event and is released; a write by another process meanwhile reaches the open stream
#    once reads work again;
#  - cleared, the server serves: the next write succeeds and reaches the open stream;
#  - every acknowledged write is there, the streams and descriptors are back at their
#    baseline, the file's integrity is intact and the server stops cleanly.
. "$(dirname "$0")/lib.sh"

if FLOWTRACK_FAULTS=nonsense=1 "$FT" --db "$T_DIR/probe.db" init >/dev/null 2>&1; then
    skip "this build has no storage fault hook (FT_FAULTS=OFF)"
fi

export FLOWTRACK_FAULTS_FILE=$T_DIR/faults
start_server
expect_status 201 "$(api POST /api/trackers '{"title":"Faults","slug":"f"}')" "create"
expect_status 201 "$(api POST /api/trackers/f/items '{"text":"acknowledged before"}')" "item"

$OUTER python3 "$LIB/faults.py" server-faults "$URL" f "$FLOWTRACK_FAULTS_FILE" "$T_DB" \
    "$SRV_PID" "$FT" || fail "the server-faults scenario failed"

grep -q 'level=error event=store msg="commit: storage: disk I/O error (fsync)"' "$T_DIR/server.log" ||
    fail "the fsync failure is not logged"
grep -q 'event=store what=read_events msg="read events: storage: disk I/O error (read)"' \
    "$T_DIR/server.log" || fail "the failed read of the log is not logged"
stop_server
equals "$(sqlite3 "$T_DB" 'PRAGMA integrity_check')" ok "integrity"
# after the restart, the same: nothing the server refused has appeared
equals "$(ft --json show f | json '",".join(i["text"] for i in d["items"])')" \
    "acknowledged before,after write,after full,after fsync,from the command line,after read" \
    "items on the file"
equals "$(sqlite3 "$T_DB" "SELECT count(*) FROM trackers WHERE slug LIKE 'lost-%'")" 0 "lost trackers"
assert_no_survivors
t_done
