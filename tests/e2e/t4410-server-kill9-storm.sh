#!/usr/bin/env bash
# Crash consistency under load: several API clients write items as fast as the server takes
# them, each recording what the server acknowledged (201), and the server is killed with
# SIGKILL in the middle, ROUNDS times in a row, restarted on the same store each time. After
# every kill: every acknowledged write is there, each item has exactly its one event (no half
# of a write), PRAGMA integrity_check is ok, and the server starts again on the store.
# Over PostgreSQL (e2e.pg.t4410) the same, with no entry left without its tracker for the
# integrity check.
. "$(dirname "$0")/lib.sh"

# SQL on the test's store, whichever its backend.
store_sql() {
    if pg_mode; then
        psql -X -q -At -d "$T_DB" -c "$1"
    else
        sqlite3 "$T_DB" "$1"
    fi
}
integrity() {
    if pg_mode; then
        store_sql "SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE count(*) || ' orphans' END FROM entries e WHERE NOT EXISTS (SELECT 1 FROM trackers t WHERE t.id = e.tracker_id)"
    else
        store_sql 'PRAGMA integrity_check'
    fi
}

ROUNDS=${FT_STORM_ROUNDS:-20}
pg_mode && ROUNDS=${FT_STORM_ROUNDS:-10} # the SQLite copy runs the 20
CLIENTS=4
# Acknowledged writes to wait for in a round before the kill (then a random 0-150 ms more).
MIN_ACKS=20
is_asan && MIN_ACKS=10

start_server
expect_status 201 "$(api POST /api/trackers '{"title":"Storm","slug":"storm"}')" "create"
: >"$T_DIR/acked"
t0=$(date +%s%N)
per_round=()
for round in $(seq 1 "$ROUNDS"); do
    before=$(wc -l <"$T_DIR/acked")
    # the clients stop by themselves after 60 s, should the kill never come
    $OUTER python3 "$LIB/faults.py" storm "$URL" storm "$CLIENTS" 60 "$T_DIR/acked" \
        2>"$T_DIR/storm.err" &
    storm=$!
    t_track $storm
    deadline=$((SECONDS + 30))
    while [ $(($(wc -l <"$T_DIR/acked") - before)) -lt $MIN_ACKS ]; do
        [ $SECONDS -lt $deadline ] || fail "round $round: fewer than $MIN_ACKS writes acknowledged in 30 s"
        kill -0 $storm 2>/dev/null || fail "round $round: the clients ended early: $(tail -3 "$T_DIR/storm.err")"
        sleep 0.01
    done
    sleep "0.$(printf '%03d' $((RANDOM % 150)))"
    kill -0 $storm 2>/dev/null || fail "round $round: the clients were not writing at the kill"
    kill -KILL "$SRV_PID"
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=
    # the clients see the server gone (refused or reset) and end
    rc=0
    wait $storm || rc=$?
    [ "$rc" = 0 ] || fail "round $round: the clients failed ($rc): $(tail -3 "$T_DIR/storm.err")"
    [ ! -s "$T_DIR/storm.err" ] || fail "round $round: a client got an error: $(tail -3 "$T_DIR/storm.err")"
    acked=$(wc -l <"$T_DIR/acked")
    per_round+=($((acked - before)))

    equals "$(integrity)" ok "round $round: integrity"
    ft --json show storm | json '"\n".join(i["text"] for i in d["items"])' | sort >"$T_DIR/stored"
    missing=$(sort "$T_DIR/acked" | comm -23 - "$T_DIR/stored" | wc -l)
    equals "$missing" 0 "round $round: acknowledged writes missing after kill -9"
    stored=$(wc -l <"$T_DIR/stored")
    equals "$(store_sql "SELECT count(*) FROM events WHERE kind = 'item.add'")" "$stored" \
        "round $round: item.add events vs stored items"
    equals "$(sort -u "$T_DIR/stored" | wc -l)" "$stored" "round $round: an item stored twice"
    start_server
done
ms=$((($(date +%s%N) - t0) / 1000000))
expect_status 200 "$(api GET /api/trackers/storm)" "the store after the last restart"
stop_server
echo "kill -9 storm: $ROUNDS/$ROUNDS rounds in ${ms} ms; $(wc -l <"$T_DIR/acked") writes acknowledged," \
    "$(wc -l <"$T_DIR/stored") stored; acknowledged per round: ${per_round[*]}"
assert_no_survivors
t_done
