#!/usr/bin/env bash
# The SQLite store's write-ahead log between commands: a command that writes leaves its commit
# in the WAL (synced) and does not copy it into the database as it exits, so the database file
# is not written by a small write; the WAL is kept short, since each command that finds 64
# frames or more in it copies them into the database and empties it as it closes; and
# whatever a command left in the WAL is read by the next process, flowtrack or sqlite3.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "the store's files are the file mode's: through a server they are its"
pg_mode && skip "a PostgreSQL store has no WAL file of its own"

frame=$((4096 + 24)) # a WAL frame: a page and its header
"$FT" create --slug w 'WAL' >/dev/null
"$FT" -t w item add "first" >/dev/null
sqlite3 "$T_DB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null # a known start: an empty WAL
[ -s "$T_DB-wal" ] && fail "the WAL is not empty after a checkpoint"
before=$(stat -c '%s %Y.%y' "$T_DB")
sleep 0.05
expect_code 0 "$FT" -t w item add "second"
wal=$(stat -c %s "$T_DB-wal")
[ "$wal" -gt 0 ] || fail "the WAL was emptied as the command exited (a checkpoint at close)"
equals "$(stat -c '%s %Y.%y' "$T_DB")" "$before" "the database file after one small write"
# the next process reads what is only in the WAL
expect_code 0 "$FT" -t w item list
contains "$OUT" "second"
equals "$(sqlite3 "$T_DB" "SELECT count(*) FROM entries")" 2 "items seen by sqlite3"

# many writes: the WAL never holds much more than 64 frames (one command's frames over)
max=0
emptied=0
for i in $(seq 60); do
    "$FT" -t w item add "item $i" >/dev/null || fail "item add $i failed"
    wal=$(stat -c %s "$T_DB-wal")
    [ "$wal" -gt "$max" ] && max=$wal
    [ "$wal" -lt "$((frame * 16))" ] && emptied=$((emptied + 1))
done
frames=$(((max - 32) / frame))
echo "60 writes: the WAL held at most $frames frames; it was emptied $emptied times" >&3
[ "$frames" -lt $((64 + 32)) ] || fail "the WAL grew to $frames frames"
[ "$emptied" -ge 2 ] || fail "the WAL was emptied $emptied times in 60 writes"
equals "$(sqlite3 "$T_DB" "SELECT count(*) FROM entries")" 62 "items"
equals "$(sqlite3 "$T_DB" 'PRAGMA integrity_check')" ok "integrity"
t_done
