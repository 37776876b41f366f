#!/usr/bin/env bash
# Two servers on one PostgreSQL store (run as e2e.pg.t4600 only): a stream on A receives a
# write made through B and one made by the command line; 4 writers through both servers, 100
# writes each, are all kept with unique numbers, and a stream on each server sees every event
# once, in order; a stream resumes on B from an event id seen on A; of 8 claimers of one item
# through both servers exactly one wins. Both servers then stop with every stream released.
. "$(dirname "$0")/lib.sh"
pg_mode || skip "PostgreSQL only (FT_PG=1)"

expect_code 0 "$FT" create --slug shared 'Shared by two servers'
start_server
URL_A=$URL
# the second server: same store, its own log
"$FT" --db "$T_DB" --actor api serve --listen 127.0.0.1:0 --ready-file "$T_DIR/ready-b" \
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
grep -q "^ok 8 claimers through two servers" "$T_DIR/pgtwo.out" || fail "the driver did not finish"

kill -TERM "$PID_B"
for _ in $(seq 200); do kill -0 "$PID_B" 2>/dev/null || break; sleep 0.05; done
wait "$PID_B" || fail "server B exited with status $?"
grep -q 'event=stop streams_open=0 flushing=0' "$T_DIR/server-b.log" ||
    fail "server B did not stop with every stream released"
stop_server
t_done
