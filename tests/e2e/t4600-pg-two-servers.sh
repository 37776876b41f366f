#!/usr/bin/env bash
# Two servers on one PostgreSQL store (run as e2e.pg.t4600 only): a stream on A receives a
# write made through B and one made by the command line; 4 writers through both servers, 100
# writes each, are all kept with unique numbers, and a stream on each server sees every event
# once, in order; a stream resumes on B from an event id seen on A; of 8 claimers of one item
# through both servers exactly one wins; a write acknowledged by one server is in the next GET
# of the tracker from the other, also while no notification gets through (the database
# processes of both change watches stopped). Both servers then stop with every stream released.
. "$(dirname "$0")/lib.sh"
pg_mode || skip "PostgreSQL only (FT_PG=1)"

expect_code 0 "$FT" create --slug shared 'Shared by two servers'
start_server
URL_A=$URL
# the second server: same store, its own log
"$FT" --db "$T_DB" --actor api serve --listen 127.0.0.1:0 --loops "$FT_LOOPS" --ready-file "$T_DIR/ready-b" \
    2>"$T_DIR/server-b.log" &
PID_B=$!
t_track "$PID_B"
for _ in $(seq 200); do
    [ -s "$T_DIR/ready-b" ] && break
    kill -0 "$PID_B" 2>/dev/null || fail "server B exited before listening"
    sleep 0.05
done
[ -s "$T_DIR/ready-b" ] || fail "server B did not write its ready file"
URL_B=$(cat "$T_DIR/ready-b")

$OUTER python3 "$LIB/pgtwo.py" "$URL_A" "$URL_B" "$FT" shared 4 100 | tee "$T_DIR/pgtwo.out" >&3 ||
    fail "two servers: $(grep FAIL "$T_DIR/pgtwo.out")"
grep -q "^ok 402 items, numbers unique" "$T_DIR/pgtwo.out" || fail "the driver did not check the items"
grep -q "^ok read after write across servers" "$T_DIR/pgtwo.out" || fail "the driver did not finish"

# ---- read after write with the notifications held up -------------------------------------
# The database process behind each server's change watch (its LISTEN connection) is stopped:
# no notification reaches either server. A write acknowledged by one must still be in the
# other's next GET, which therefore cannot rely on the watch alone. (A tracker of its own: the
# shared one has grown past what the render cache keeps.)
expect_code 0 "$FT" create --slug quiet 'Read after write'
for u in "$URL_A" "$URL_B"; do
    for _ in 1 2; do curl -sS --max-time 10 -o /dev/null "$u/api/trackers/quiet"; done
done
watchers=$(psql -X -At -d "$T_DB" -c "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN flowtrack'" | tr '\n' ' ')
[ "$(echo "$watchers" | wc -w)" = $((2 * FT_LOOPS)) ] ||
    fail "want the 2 servers' LISTEN connections ($FT_LOOPS each), found: $watchers"
t_at_exit "kill -CONT $watchers 2>/dev/null"
kill -STOP $watchers
for k in $(seq 20); do
    if ((k % 2)); then w=$URL_B r=$URL_A; else w=$URL_A r=$URL_B; fi
    code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "{\"text\":\"unnotified $k\"}" "$w/api/trackers/quiet/items")
    expect_status 201 "$code" "write $k with the notifications held up"
    curl -sS --max-time 10 "$r/api/trackers/quiet" >"$T_DIR/doc"
    grep -q "\"unnotified $k\"" "$T_DIR/doc" ||
        fail "write $k, acknowledged by ${w#http://}, missing from the next GET on ${r#http://} (no notification came)"
done
kill -CONT $watchers
echo "ok 20 writes, each in the other server's next GET, no notification delivered" >&3

kill -TERM "$PID_B"
for _ in $(seq 200); do kill -0 "$PID_B" 2>/dev/null || break; sleep 0.05; done
wait "$PID_B" || fail "server B exited with status $?"
grep -q 'event=stop streams_open=0 flushing=0' "$T_DIR/server-b.log" ||
    fail "server B did not stop with every stream released"
stop_server
t_done
