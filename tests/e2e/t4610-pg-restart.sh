#!/usr/bin/env bash
# The server and a PostgreSQL store that goes away (run as e2e.pg.t4610 only). With a stream
# open, the database is stopped: /healthz says 503 and why, a write gets a 5xx JSON error, the
# stream stays open. The database comes back: /healthz is 200 again within a bound, writes by
# the API and the command line succeed, and the stream has every event of the log exactly
# once, in order, with no gap. /metrics counts the reconnection. A server started on a
# database that cannot be reached says so and exits non-zero at once. A write waits for another
# writer's lock at most --busy-timeout, then gets 503. Connections the database ends are made
# again by the next write, which succeeds. A database that stops answering while
# its connections stay up (every process of the cluster stopped) holds a request, and the
# server's loop, at most --busy-timeout + 1 s: 503, then the server connects again once the
# database answers.
T_PG_OWN=1 # it stops and starts its cluster
. "$(dirname "$0")/lib.sh"

# write_after BODY: a write once the database is back, answered 201. With several workers
# /healthz answered from one of them: another may still wait out its back-off, at most 5 s,
# answering 503 with Retry-After meanwhile.
write_after() {
    local code _
    code=$(api POST /api/trackers/away/items "$1")
    for _ in $(seq 60); do
        [ "$code" = 503 ] && [ "$FT_LOOPS" -gt 1 ] || break
        sleep 0.1
        code=$(api POST /api/trackers/away/items "$1")
    done
    expect_status 201 "$code" "a write after"
}
pg_mode || skip "PostgreSQL only (FT_PG=1)"
# not tagged: the cluster is the harness's (lib.sh), not a process of the test
PGC="env -u FT_E2E_TAG $FT_SOURCE_DIR/tests/pg/pg-cluster.sh"

# ---- a database that cannot be reached at start ---------------------------------------------
t0=$(date +%s%N)
expect_code 1 timeout -k 5 60 "$FT" --db postgres://flowtrack@127.0.0.1:1/none serve \
    --listen 127.0.0.1:0
ms=$((($(date +%s%N) - t0) / 1000000))
contains "$ERR" "cannot connect to the store's database"
[ "$ms" -lt 15000 ] || fail "the server took $ms ms to give up on an unreachable database"
echo "unreachable database at start: exit 1 after $ms ms" >&3

# ---- a stream across a restart of the database ----------------------------------------------
expect_code 0 "$FT" create --slug away 'Database goes away'
start_server
curl -sN "$URL/api/trackers/away/events" >"$T_DIR/stream" 2>/dev/null &
t_track $!
for _ in $(seq 100); do grep -q '^retry:' "$T_DIR/stream" && break; sleep 0.05; done
for i in 1 2 3; do expect_code 0 "$FT" item add "before $i"; done

$PGC pause "$T_PG_DIR"
down=0
for _ in $(seq 100); do # the watch's connection ends with the database: at once
    [ "$(api GET /healthz)" = 503 ] && down=1 && break
    sleep 0.05
done
[ "$down" = 1 ] || fail "/healthz did not report the database gone"
file_contains "$T_DIR/body" "store unavailable"
# nothing was sent to the database: 503, to be tried again
expect_status 503 "$(api POST /api/trackers/away/items '{"text":"while away"}')" "a write while away"
contains "$(json 'd["error"]' <"$T_DIR/body")" "database unavailable"
kill -0 "$SRV_PID" || fail "the server exited while the database was away"

$PGC resume "$T_PG_DIR"
# a write before the server's watch is back (it tries again after 200 ms, 400 ms...): its
# notification is lost, the server finds it in the log
expect_code 0 "$FT" item add "right after the restart"
up=0
for _ in $(seq 200); do # the watch tries again within 5 s at most
    [ "$(api GET /healthz)" = 200 ] && up=1 && break
    sleep 0.05
done
if [ "$up" != 1 ]; then
    grep -v healthz "$T_DIR/server.log" >&3
    fail "/healthz did not come back within 10 s: $(cat "$T_DIR/body")"
fi
# that write reaches the stream with nothing else written after it
for _ in $(seq 100); do grep -q "right after the restart" "$T_DIR/stream" && break; sleep 0.05; done
file_contains "$T_DIR/stream" "right after the restart"
write_after '{"text":"after, by the API"}'
for i in 1 2; do expect_code 0 "$FT" item add "after $i"; done

# the stream: every event of the tracker's log once, in order
# (all but the tracker.create before the stream opened)
want=$(ft --json history --limit 1000 | sed -n 's/^{"seq":\([0-9]*\),.*/\1/p' | tail -n +2 | tr '\n' ' ' | sed 's/ $//')
[ "$(echo "$want" | wc -w)" = 7 ] || fail "the log holds $(echo "$want" | wc -w) events after the create, want 7: $want"
for _ in $(seq 100); do
    got=$(sed -n 's/^id: //p' "$T_DIR/stream" | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$want" ] && break
    sleep 0.05
done
equals "$got" "$want" "the stream's events across the restart"
[ "$(metric flowtrack_store_reconnects_total)" -ge 1 ] || fail "no reconnection counted"
[ "$(metric flowtrack_store_watch_losses_total)" -ge 1 ] || fail "no watch loss counted"
# (the least of the workers': one may still wait out its back-off, at most 5 s)
for _ in $(seq 120); do
    [ "$(metric flowtrack_store_up)" = 1 ] && break
    sleep 0.05
done
equals "$(metric flowtrack_store_up)" 1 "store up"
stop_server

# ---- the database ends the server's connections (pg_terminate_backend): the next write
# connects again and succeeds, and the stream goes on ---------------------------------------
start_server
curl -sN "$URL/api/trackers/away/events" >"$T_DIR/stream2" 2>/dev/null &
t_track $!
for _ in $(seq 100); do grep -q '^retry:' "$T_DIR/stream2" && break; sleep 0.05; done
expect_status 201 "$(api POST /api/trackers/away/items '{"text":"before the cut"}')" "a write"
ended=$(psql -X -At -d "$T_DB" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'flowtrack' AND pid <> pg_backend_pid()")
[ "$ended" -ge 2 ] || fail "ended $ended of the server's connections, want its 2"
expect_status 201 "$(api POST /api/trackers/away/items '{"text":"after the cut"}')" "the write after the cut"
for _ in $(seq 200); do grep -q "after the cut" "$T_DIR/stream2" && break; sleep 0.05; done
file_contains "$T_DIR/stream2" "after the cut"
stop_server

# ---- another writer holds the write lock: 503 after --busy-timeout, then writes go on --------
start_server --busy-timeout 300ms
psql -X -q -d "$T_DB" -c "BEGIN; SELECT pg_advisory_xact_lock(x'4641546672466c54'::bigint); SELECT pg_sleep(3); COMMIT" >/dev/null &
t_track $!
sleep 0.5
expect_status 503 "$(api POST /api/trackers/away/items '{"text":"while locked"}')" "a write while locked"
contains "$(json 'd["error"]["message"]' <"$T_DIR/body")" "locked by another writer"
wait $!
expect_status 201 "$(api POST /api/trackers/away/items '{"text":"once unlocked"}')" "a write after the lock"
stop_server

# ---- a database that stops answering, its connections open: the loop waits a bounded time ----
start_server --busy-timeout 300ms
expect_status 201 "$(api POST /api/trackers/away/items '{"text":"before the silence"}')" "a write"
pm=$(head -n 1 "$T_PG_DIR/data/postmaster.pid")
procs="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
kill -STOP $procs # (pg-cluster.sh stop continues them, should the test end here)
t0=$(date +%s%N)
code=$(api POST /api/trackers/away/items '{"text":"while silent"}')
ms=$((($(date +%s%N) - t0) / 1000000))
expect_status 503 "$code" "a write to a silent database"
contains "$(json 'd["error"]["message"]' <"$T_DIR/body")" "no answer within 1300 ms"
echo "a write to a stopped database: 503 after $ms ms (bound: 300 ms busy timeout + 1 s)" >&3
[ "$ms" -ge 1250 ] || fail "503 after $ms ms: sooner than the bound, so not for the silence"
[ "$ms" -lt 6000 ] || fail "the write held the server's loop $ms ms, bound 1300 ms"
# while it is silent every request is answered within the bound too (a try to connect again
# waits at most as long; between tries the answer is at once)
worst=0
for _ in 1 2 3 4 5 6; do
    t0=$(date +%s%N)
    api GET /healthz >/dev/null
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$ms" -gt "$worst" ] && worst=$ms
    sleep 0.2
done
echo "/healthz while the database is stopped: slowest $worst ms" >&3
[ "$worst" -lt 6000 ] || fail "/healthz took $worst ms while the database was silent"
kill -CONT $procs
up=0
for _ in $(seq 200); do
    [ "$(api GET /healthz)" = 200 ] && up=1 && break
    sleep 0.05
done
[ "$up" = 1 ] || fail "/healthz did not come back within 10 s of the database: $(cat "$T_DIR/body")"
write_after '{"text":"after the silence"}'
expect_code 0 "$FT" item list
contains "$OUT" "after the silence"
stop_server
t_done
