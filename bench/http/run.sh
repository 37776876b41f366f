#!/usr/bin/env bash
# HTTP reads: wrk on GET /api/trackers/bench of `flowtrack serve` beside nginx serving the
# same JSON bytes as a static file (one worker), same connections and duration, same run.
# Rounds alternate nginx and flowtrack; the medians and their ratio are printed, and the
# server's CPU time per request (from /proc/PID/stat), which says more when the client (one wrk
# thread on a 2-CPU machine) rather than the server is the limit, as it can be for nginx.
#
# Environment: QUICK=1 for a short run; WRK_THREADS (1), WRK_CONNS (50), WRK_DURATION (10s,
# 3s when QUICK), ROUNDS (3, 1 when QUICK); ITEMS (12: a 9 KiB document; 70 makes one of
# 34 KiB, more than libevent's 16 KiB write); FLOWTRACK=/path/to/flowtrack to use a given
# binary instead of building one; BENCH_KEEP=1 to keep the temp dir.
set -euo pipefail
# shellcheck source=bench/lib/servers.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/servers.sh"

bash "$BENCH_ROOT/scripts/install-deps.sh" --bench
bench_init

if [ "${QUICK:-0}" = 1 ]; then
    duration=${WRK_DURATION:-3s}
    rounds=${ROUNDS:-1}
else
    duration=${WRK_DURATION:-10s}
    rounds=${ROUNDS:-3}
fi
threads=${WRK_THREADS:-1}
conns=${WRK_CONNS:-50}

bench_build_sseload >/dev/null # bench_free_port uses it
FT_BIN=$(bench_build_flowtrack)

if ! "$FT_BIN" help serve >/dev/null 2>&1; then
    echo "flowtrack has no 'serve' command: nothing to measure" >&2
    exit 1
fi

bench_machine
echo "flowtrack: $("$FT_BIN" version 2>/dev/null || echo '?'); $(nginx -v 2>&1 | sed 's/^nginx version: //');" \
    "$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"

# A tracker with some content, so that the document is of a realistic size.
db="$BENCH_TMP/ft/flowtrack.db"
mkdir -p "$(dirname "$db")"
ft() { "$FT_BIN" --db "$db" -t bench "$@" >/dev/null; }
"$FT_BIN" --db "$db" create --slug bench 'Bench tracker' >/dev/null
for i in $(seq "${ITEMS:-12}"); do
    ft item add "Progress item $i: measure, change one thing, measure again"
done
for i in $(seq 4); do
    ft rule add "Ground rule $i: every figure comes from a script anyone can run"
done
for i in $(seq 6); do
    ft result add --outcome pass --notes "notes for attempt $i" "Attempt $i at the benchmark"
done

flowtrack_start flowtrack "$FT_BIN" "$db"
url_ft="$FT_URL/api/trackers/bench"
www="$BENCH_TMP/www/api/trackers"
mkdir -p "$www"
code=$(curl -s -o "$www/bench" -w '%{http_code}' "$url_ft")
[ "$code" = 200 ] || { echo "GET $url_ft: HTTP $code" >&2; exit 1; }
chmod -R a+rX "$BENCH_TMP/www"
nginx_start static "
        location /api/ { root $BENCH_TMP/www; default_type application/json; }"
url_ng="http://127.0.0.1:$NGINX_PORT/api/trackers/bench"
cmp -s "$www/bench" <(curl -s "$url_ng") || { echo "nginx does not serve the same bytes" >&2; exit 1; }
echo "document: $(wc -c <"$www/bench") bytes of JSON; wrk -t$threads -c$conns -d$duration," \
    "$rounds round(s), nginx then flowtrack in each"
echo

# CPU time (user + system, clock ticks) a process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run_wrk NAME URL ROUND PID: requests per second; the server's CPU time per request goes to
# $BENCH_TMP/cpu-NAME-ROUND; raw output kept in the temp dir
run_wrk() {
    local out="$BENCH_TMP/wrk-$1-$3.txt" c0 c1 n
    c0=$(cpu_ticks "$4")
    wrk -t"$threads" -c"$conns" -d"$duration" --latency "$2" >"$out" 2>&1 &
    local pid=$!
    BENCH_PIDS+=("$pid")
    wait "$pid" || true # in the background so that a signal to this script stops it at once
    bench_forget "$pid"
    c1=$(cpu_ticks "$4")
    n=$(awk '/requests in/ { print $1 }' "$out")
    awk -v d=$((c1 - c0)) -v hz="$hz" -v n="${n:-0}" \
        'BEGIN { if (n > 0) printf "%.1f\n", d / hz * 1e6 / n; else print "-" }' >"$BENCH_TMP/cpu-$1-$3"
    if grep -q 'Non-2xx or 3xx responses' "$out"; then
        echo "warning: $1: $(grep 'Non-2xx or 3xx responses' "$out")" >&2
    fi
    awk '/^Requests\/sec:/ { print $2 }' "$out"
}

rps_ng=()
rps_ft=()
for r in $(seq "$rounds"); do
    a=$(run_wrk nginx "$url_ng" "$r" "$NGINX_WORKER")
    b=$(run_wrk flowtrack "$url_ft" "$r" "$FT_PID")
    echo "round $r: nginx $a req/s ($(cat "$BENCH_TMP/cpu-nginx-$r") µs CPU each)," \
        "flowtrack $b req/s ($(cat "$BENCH_TMP/cpu-flowtrack-$r") µs CPU each)"
    rps_ng+=("${a:-0}")
    rps_ft+=("${b:-0}")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
p99() { awk '$1 == "99%" { print $2 }' "$1"; }
m_ng=$(median "${rps_ng[@]}")
m_ft=$(median "${rps_ft[@]}")
echo
mapfile -t cpus_ng < <(cat "$BENCH_TMP"/cpu-nginx-*)
mapfile -t cpus_ft < <(cat "$BENCH_TMP"/cpu-flowtrack-*)
c_ng=$(median "${cpus_ng[@]}")
c_ft=$(median "${cpus_ft[@]}")
echo "| server | req/s (median of $rounds) | server CPU µs per request (median) | p99 latency (last round) |"
echo "|---|---|---|---|"
echo "| nginx static file | $m_ng | $c_ng | $(p99 "$BENCH_TMP/wrk-nginx-$rounds.txt") |"
echo "| flowtrack serve | $m_ft | $c_ft | $(p99 "$BENCH_TMP/wrk-flowtrack-$rounds.txt") |"
echo
awk -v a="$m_ft" -v b="$m_ng" -v ca="$c_ft" -v cb="$c_ng" 'BEGIN {
    if (b > 0) printf "flowtrack / nginx: %.0f%% of the requests per second (goal: at least 80%%)", 100 * a / b
    if (ca > 0) printf "; %.0f%% of the requests per CPU-second", 100 * cb / ca
    print ""
}'
if [ -n "${BENCH_KEEP:-}" ]; then
    echo "raw results and logs: $BENCH_TMP"
fi
