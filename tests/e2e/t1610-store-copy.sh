#!/usr/bin/env bash
# flowtrack copy: a store made with the command line is copied whole (every tracker as shown,
# the whole history, runs with their logs, the default tracker), a copy of the copy too; the
# next event of a copy follows the last one copied; refused and failed copies write nothing.
# Over PostgreSQL (e2e.pg.t1610): the store is a database, copied to a SQLite file and that to
# a second database (PostgreSQL -> SQLite -> PostgreSQL), byte for byte the same views.
. "$(dirname "$0")/lib.sh"

# copy works on store files, never through a server: in remote mode the stores are written and
# read through their servers, and only the copies run on the files, while they are served.
CP=$FLOWTRACK_BIN
A=$T_DB
B=$T_DIR/copy.db
C=$T_DIR/copy-of-copy.db
pg_mode && pg_newdb C copy_of_copy

# ---- a store with one of everything ---------------------------------------------------------
expect_code 0 "$FT" create --slug sse --owner 'Server team' --objective 'Streams end cleanly' 'SSE release'
expect_code 0 "$FT" create --slug doomed 'To be deleted'
expect_code 0 "$FT" -t doomed item add 'deleted with its tracker'
expect_code 0 "$FT" create --slug cache --org 'Platform' 'Cache misses'
expect_code 0 "$FT" use sse
for i in 1 2 3 4; do expect_code 0 "$FT" item add "item $i"; done
expect_code 0 "$FT" item start 1
expect_code 0 "$FT" item done 1 2
expect_code 0 "$FT" item drop 3
expect_code 0 "$FT" --actor alice item claim 4
expect_code 0 "$FT" rule add 'Rerun the reproducer after every change'
expect_code 0 "$FT" step add 'Reproduce under a timeout'
expect_code 0 "$FT" symptom add 'gauge stays above zero'
expect_code 0 "$FT" hyp add 'timer outlives the stream'
expect_code 0 "$FT" hyp add 'the pool keeps a reference'
expect_code 0 "$FT" hyp rule-out 1 --evidence 'valgrind clean'
expect_code 0 "$FT" hyp confirm 2 --evidence 'refcount stays at 1'
expect_code 0 "$FT" result add --outcome pass --notes '0 leaked' --date 2026-11-04 'free in one place'
expect_code 0 "$FT" followup add 'valgrind in CI'
expect_code 0 "$FT" note add 'see the server log'
expect_code 0 "$FT" repro --command 'ctest -R sse' --timeout 2m --expect leak
expect_code 0 "$FT" run --timeout 5 --label ok -- true
expect_code 3 "$FT" run --timeout 5 --label fails -- sh -c 'echo "to stdout"; echo "to stderr" >&2; exit 3'
expect_code 0 "$FT" edit --title 'SSE streams release' --owner 'Platform team'
expect_code 0 "$FT" -t cache item add 'measure the hit rate'
expect_code 0 "$FT" -t cache hyp add 'keys differ by case'
expect_code 0 "$FT" delete doomed
expect_code 0 "$FT" use sse

# Everything a reader sees of store $1, into directory $2.
views() {
    mkdir -p "$2"
    "$FT" --db "$1" list >"$2/list"
    "$FT" --db "$1" show --format text >"$2/show-default"
    for t in sse cache; do
        "$FT" --db "$1" -t "$t" show --format text >"$2/show-$t"
        "$FT" --db "$1" -t "$t" --json show >"$2/json-$t"
    done
    "$FT" --db "$1" history --all --json >"$2/history"
    "$FT" --db "$1" -t sse --json runs >"$2/runs"
    for n in 1 2; do
        "$FT" --db "$1" -t sse runs log "$n" >"$2/log-$n"
        "$FT" --db "$1" -t sse --json runs show "$n" >"$2/run-$n"
    done
}

# The views of two stores are byte for byte the same.
same_views() {
    for f in "$1"/*; do
        cmp "$f" "$2/${f##*/}" || fail "${f##*/} differs between $1 and $2"
    done
}

views "$A" "$T_DIR/v.a"
# the views hold what the store holds (a test of nothing would compare empty files)
file_contains "$T_DIR/v.a/json-sse" '"claimed_by": "alice"'
file_contains "$T_DIR/v.a/show-sse" "Confirmed: the pool keeps a reference"
file_contains "$T_DIR/v.a/log-2" "to stderr"
file_contains "$T_DIR/v.a/history" '"kind":"tracker.delete"'
file_contains "$T_DIR/v.a/show-default" "SSE streams release"
events=$(wc -l <"$T_DIR/v.a/history")
[ "$events" -ge 30 ] || fail "the source has only $events events"

# ---- the copy, and a copy of the copy --------------------------------------------------------
expect_code 0 "$CP" copy "$A" "$B"
contains "$OUT" "copied 2 trackers, "
contains "$OUT" ", 2 runs, $events events, 1 setting from $A to $B"
views "$B" "$T_DIR/v.b"
same_views "$T_DIR/v.a" "$T_DIR/v.b"

expect_code 0 "$CP" --json copy "$B" "$C"
equals "$(echo "$OUT" | json 'd["copied"]["trackers"], d["copied"]["runs"], d["copied"]["events"], d["copied"]["settings"], d["to"]')" \
    "2 2 $events 1 $C"
views "$C" "$T_DIR/v.c"
same_views "$T_DIR/v.a" "$T_DIR/v.c"

# the copy's next event follows the last one copied
last=$(tail -n 1 "$T_DIR/v.a/history" | json 'd["seq"]')
expect_code 0 "$FT" --db "$B" note add 'written to the copy'
equals "$("$FT" --db "$B" history --all --json --limit 1 | json 'd["seq"]')" "$((last + 1))" "next seq"
if pg_mode; then # and a database's next ids and sequence numbers too
    expect_code 0 "$FT" --db "$C" note add 'written to the copy of the copy'
    equals "$("$FT" --db "$C" history --all --json --limit 1 | json 'd["seq"]')" "$((last + 1))" "next seq"
    expect_code 0 "$FT" --db "$C" create --slug fresh 'Made in the copy'
fi

# ---- refusals: nothing written ---------------------------------------------------------------
D=$T_DIR/d.db
expect_code 3 "$CP" copy "$T_DIR/missing.db" "$D"
contains "$ERR" "flowtrack: no store at '$T_DIR/missing.db' to copy"
echo "hello" >"$T_DIR/notes.txt"
expect_code 1 "$CP" copy "$T_DIR/notes.txt" "$D"
contains "$ERR" "flowtrack: '$T_DIR/notes.txt' is not a flowtrack store"
expect_code 3 "$CP" copy "$A" "$T_DIR/nodir/d.db"
contains "$ERR" "flowtrack: cannot create store '$T_DIR/nodir/d.db': no directory '$T_DIR/nodir'"
expect_code 2 "$CP" copy "$A" "$A"
contains "$ERR" "are the same store"
if ! pg_mode; then # the same file by another name
    ln -s "$A" "$T_DIR/link.db"
    expect_code 2 "$CP" copy "$A" "$T_DIR/link.db"
    contains "$ERR" "are the same store"
fi
expect_code 2 "$CP" copy "$A"
contains "$ERR" "flowtrack copy: give the store to copy (FROM) and where to copy it (TO)"
expect_code 2 "$CP" --server http://127.0.0.1:9 copy "$A" "$D"
contains "$ERR" "not through a server"
[ -e "$D" ] && fail "a refused copy created its destination"
[ -e "$T_DIR/nodir" ] && fail "a refused copy created a directory"

# a destination that is not empty is refused and left as it was
views "$C" "$T_DIR/v.c1"
expect_code 1 "$CP" copy "$B" "$C"
contains "$ERR" "flowtrack: the destination '$C' is not empty (it holds trackers): copy into a new or empty store"
views "$C" "$T_DIR/v.c2"
same_views "$T_DIR/v.c1" "$T_DIR/v.c2"

# a copy that fails part way (a value no store holds, in the last event: every other table was
# copied before it) leaves nothing in its destination
E=$T_DIR/bad.db
expect_code 0 "$CP" copy "$A" "$E"
sqlite3 "$E" 'UPDATE events SET at = 1.5 WHERE seq = (SELECT max(seq) FROM events)'
expect_code 1 "$CP" copy "$E" "$T_DIR/partial.db"
contains "$ERR" "column at holds a real number"
equals "$(sqlite3 "$T_DIR/partial.db" 'SELECT (SELECT count(*) FROM trackers) + (SELECT count(*) FROM entries) + (SELECT count(*) FROM runs) + (SELECT count(*) FROM events) + (SELECT count(*) FROM settings)')" "0" "rows left by a failed copy"
# and being empty, it takes a good copy afterwards
expect_code 0 "$CP" copy "$A" "$T_DIR/partial.db"
if pg_mode; then # the same into a database
    pg_newdb P partial
    expect_code 1 "$CP" copy "$E" "$P"
    contains "$ERR" "column at holds a real number"
    equals "$(psql -X -At -d "$P" -c 'SELECT (SELECT count(*) FROM trackers) + (SELECT count(*) FROM entries) + (SELECT count(*) FROM runs) + (SELECT count(*) FROM events) + (SELECT count(*) FROM settings)')" "0" "rows left by a failed copy"
    expect_code 0 "$CP" copy "$A" "$P"
fi
t_done
