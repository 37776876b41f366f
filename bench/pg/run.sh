#!/usr/bin/env bash
# The store behind the server: SQLite against PostgreSQL, same run, same client.
#
#   sqlite, 1 server          flowtrack serve on a SQLite file
#   postgres, 1 server        flowtrack serve on a PostgreSQL database
#   postgres, 2 servers       two servers on that database: writes go through both, and the
#                             stream (and the latency probes' writes) are on different servers
#
# For each: write throughput through the API (WRITERS concurrent clients, WRITES item adds
# each, acknowledged writes per second) and fan-out latency (PROBES single writes, from
# sending the request to the event's arrival on an open stream: p50, p99, max; and from the
# reply to the arrival). The PostgreSQL cluster is a throwaway one (tests/pg/pg-cluster.sh)
# with fsync on, as durable as SQLite's synchronous=FULL; it runs on the same machine.
#
# Environment: QUICK=1 for a short run; WRITERS (4), WRITES (250, 50 when QUICK), PROBES (200,
# 50 when QUICK); PG_FSYNC=off to see what the cluster's WAL flush costs (not durable);
# FLOWTRACK=/path/to/flowtrack to use a given binary; BENCH_KEEP=1.
set -euo pipefail
# shellcheck source=bench/lib/servers.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/servers.sh"

bash "$BENCH_ROOT/scripts/install-deps.sh"
bench_init
writers=${WRITERS:-4}
if [ "${QUICK:-0}" = 1 ]; then
    writes=${WRITES:-50}
    probes=${PROBES:-50}
else
    writes=${WRITES:-250}
    probes=${PROBES:-200}
fi
FT_BIN=$(bench_build_flowtrack)
PGC=$BENCH_ROOT/tests/pg/pg-cluster.sh
pgdir="$BENCH_TMP/pg"
stop_pg() { "$PGC" stop "$pgdir"; bench_cleanup; }
trap stop_pg EXIT
base=$(FT_PG_FSYNC=${PG_FSYNC:-on} WATCH_PID=$$ "$PGC" start "$pgdir")

bench_machine
echo "flowtrack: $("$FT_BIN" version 2>/dev/null || echo '?');" \
    "$(/usr/lib/postgresql/*/bin/postgres --version | head -1); SQLite $(sqlite3 --version | cut -d' ' -f1);" \
    "$writers writers x $writes writes, $probes latency probes; PostgreSQL fsync ${PG_FSYNC:-on}"
printf '%-28s %9s %8s %8s %8s %9s %9s\n' store writes/s p50_ms p99_ms max_ms reply_p50 reply_p99

drive() {
    python3 "$BENCH_ROOT/bench/pg/driver.py" "$@" "$writers" "$writes" "$probes"
}

# SQLite, one server
db="$BENCH_TMP/sqlite/flowtrack.db"
mkdir -p "$(dirname "$db")"
"$FT_BIN" --db "$db" create --slug bench 'Bench' >/dev/null
flowtrack_start sqlite "$FT_BIN" "$db"
drive "sqlite, 1 server" "$FT_URL" "$FT_URL" bench
bench_stop "$FT_PID"

# PostgreSQL, one server, then two
url=$("$PGC" createdb "$base" bench 2>/dev/null)
"$FT_BIN" --db "$url" create --slug bench 'Bench' >/dev/null
flowtrack_start pg1 "$FT_BIN" "$url"
a_pid=$FT_PID a_url=$FT_URL
drive "postgres, 1 server" "$a_url" "$a_url" bench
flowtrack_start pg2 "$FT_BIN" "$url"
b_url=$FT_URL
drive "postgres, 2 servers" "$a_url,$b_url" "$a_url" bench
bench_stop "$FT_PID"
bench_stop "$a_pid"
