#!/usr/bin/env bash
# A store written at schema version 1 opens in this flowtrack: it is migrated once (claims on
# items, the "waiting" status), reads back exactly as before, keeps its references (deleting a
# tracker still removes what it owns), and takes the new writes.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "migration is a property of the store file; the server opens the same store"

FIX=$FT_SOURCE_DIR/tests/fixtures
sql() { python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print("\n".join(str(r[0]) for r in c.execute(sys.argv[2])))' "$T_DB" "$1"; }
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2]).read())' \
    "$T_DB" "$FIX/store-v1.sql"
equals "$(sql 'PRAGMA user_version')" 1 "the fixture's schema version"

expect_code 0 "$FT" show --format text
equals "$OUT" "$(cat "$FIX/store-v1.txt")" "the tracker read back after the migration"
equals "$(sql 'PRAGMA user_version')" 2 "schema version after the first open"
equals "$(sql 'PRAGMA foreign_key_check')" "" "dangling references"
equals "$(sql "SELECT sql LIKE '%status IN (0, 1, 2)%' FROM sqlite_schema WHERE name = 'trackers'")" 1

# the new writes
expect_code 0 "$FT" --actor agent-1 item claim 5
expect_code 0 "$FT" item list
contains "$OUT" "[5] doing   Document operational monitoring notes (what logs/metrics indicate a recurrence). (claimed by agent-1)"
expect_code 0 "$FT" edit --status waiting
expect_code 0 "$FT" show --format text
contains "$OUT" "Status: waiting"
expect_code 0 "$FT" run -- true
expect_code 0 "$FT" history --json
equals "$(echo "$OUT" | grep -c '"seq"')" 6 "events: 3 from version 1, 3 new"

# opening it again does nothing more; deleting the tracker removes everything it owned
expect_code 0 "$FT" show
expect_code 0 "$FT" delete example-tracker-streaming-endpoint
equals "$(sql 'SELECT (SELECT count(*) FROM entries) + (SELECT count(*) FROM runs) + (SELECT count(*) FROM state_changes) + (SELECT count(*) FROM trackers)')" 0 "rows left after delete"
t_done
