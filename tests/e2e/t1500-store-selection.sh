#!/usr/bin/env bash
# Which store a command uses (--db, FLOWTRACK_DB, .flowtrack/ upward), and a
# store written by a newer flowtrack is refused and left untouched.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "which store file a command opens is a property of the file mode: --server replaces it (t1800 tests which of --db, --server and FLOWTRACK_SERVER wins)"

unset FLOWTRACK_DB
mkdir -p proj/sub/deeper
cd proj
expect_code 3 "$FT" list
contains "$ERR" "no store found"
expect_code 0 "$FT" init
[ -f .flowtrack/flowtrack.db ] || fail "init did not create .flowtrack/flowtrack.db"
"$FT" create --slug here 'Found upward' >/dev/null
cd sub/deeper
expect_code 0 "$FT" list
contains "$OUT" "here"
# FLOWTRACK_DB beats the search, --db beats FLOWTRACK_DB
expect_code 0 env FLOWTRACK_DB="$T_DIR/env.db" "$FT" create --slug env 'From env'
expect_code 0 "$FT" --db "$T_DIR/flag.db" create --slug flag 'From flag'
expect_code 0 env FLOWTRACK_DB="$T_DIR/env.db" "$FT" --db "$T_DIR/flag.db" list
contains "$OUT" "flag"
expect_code 0 "$FT" list
contains "$OUT" "here"
# reading a store that does not exist creates nothing
expect_code 3 "$FT" --db "$T_DIR/nothing.db" list
[ -e "$T_DIR/nothing.db" ] && fail "a read created a store"

# a newer schema is refused, byte for byte untouched
sqlite3 "$T_DIR/flag.db" 'PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE; PRAGMA user_version=999' >/dev/null
sum=$(md5sum <"$T_DIR/flag.db")
expect_code 1 "$FT" --db "$T_DIR/flag.db" list
contains "$ERR" "newer than this flowtrack knows"
expect_code 1 "$FT" --db "$T_DIR/flag.db" item add x
equals "$(md5sum <"$T_DIR/flag.db")" "$sum" "newer store after refused commands"
[ -e "$T_DIR/flag.db-wal" ] && fail "a refused store got a WAL file"
# a file that is not a store
echo "hello" >"$T_DIR/notes.txt"
expect_code 1 "$FT" --db "$T_DIR/notes.txt" list
contains "$ERR" "not a flowtrack store"
t_done
