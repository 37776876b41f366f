#!/usr/bin/env bash
# SSE fan-out: flowtrack serve beside nginx + nchan, as many workers each (LOOPS, default: the
# cores: `flowtrack serve --loops LOOPS`, nginx `worker_processes LOOPS`), same harness, same run.
#
# For each stream count N, a fresh nginx+nchan and a fresh `flowtrack serve` (new store, one
# tracker) are started, and bench/sse/sseload.c opens N event streams on one channel/tracker
# of each in turn and measures: connect time, resident memory per idle stream, publish-to-
# receive latency (events published one at a time), deliveries per second (events published
# back to back), the time for the server to release one idle stream closed by the client
# (RST and FIN) among the others, and SIGTERM-to-exit with every stream open.
# nchan is published to through its publisher location; flowtrack through its durable write
# API, POST /api/trackers/bench/items {"text": ...}.
#
# Environment: LOOPS=N workers each (default: the cores; 1 is the one-loop comparison);
# QUICK=1 for a short run (N = 1000 only, one round, fewer events);
# SSE_STREAMS="1000 5000" to choose N; ROUNDS (3) runs of both servers per N; FLOWTRACK=/path/to/flowtrack to use a given binary instead of building one;
# BENCH_KEEP=1 to keep the temp dir (logs, raw results).
set -euo pipefail
# shellcheck source=bench/lib/servers.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/servers.sh"

bash "$BENCH_ROOT/scripts/install-deps.sh" --bench
bench_init

if [ "${QUICK:-0}" = 1 ]; then
    streams=${SSE_STREAMS:-1000}
    rounds=${ROUNDS:-1}
    target=100000 # deliveries per burst
    paced=10
    aborts=10
    scrapes=20
else
    streams=${SSE_STREAMS:-1000 5000 10000}
    rounds=${ROUNDS:-3}
    target=500000
    paced=20
    aborts=20
    scrapes=100
fi

LOOPS=${LOOPS:-$(nproc)}
export BENCH_WORKERS=$LOOPS
SSELOAD=$(bench_build_sseload)
FT_BIN=$(bench_build_flowtrack)
ulimit -n "$(ulimit -Hn)"
export NGINX_MODULES="load_module /usr/lib/nginx/modules/ngx_nchan_module.so;"

bench_machine
echo "flowtrack: $("$FT_BIN" version 2>/dev/null || echo '?'); $(nginx -v 2>&1 | sed 's/^nginx version: //')," \
    "nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')"
echo "workers: $LOOPS each (nginx worker_processes, flowtrack serve --loops)"
echo "streams: $streams; per N, $rounds round(s) of nchan then flowtrack, fresh servers each:" \
    "max(20, $target/N) burst events; in the first round also $paced paced events (50 ms apart)" \
    "and $aborts RST + $aborts FIN closes"
echo

ft_ok=1
"$FT_BIN" help serve >/dev/null 2>&1 || "$FT_BIN" serve --help >/dev/null 2>&1 || ft_ok=0
[ "$ft_ok" = 1 ] || echo "flowtrack has no 'serve' command: its side is not measured" >&2

# run_one NAME N ROUND args...: the harness against one server; raw results in
# $BENCH_TMP/NAME-N-ROUND.txt. Latency and release are measured in the first round only.
run_one() {
    local name=$1 n=$2 r=$3 p=$paced a=$aborts
    shift 3
    [ "$r" = 1 ] || { p=0; a=0; }
    echo "== $name, $n streams, round $r" >&2
    # In the background and waited for, so that a signal to this script stops it at once.
    "$SSELOAD" -n "$n" --paced "$p" --burst "$burst" --aborts "$a" --scrapes "$scrapes" \
        --timeout 60 "$@" \
        >"$BENCH_TMP/$name-$n-$r.txt" &
    local pid=$!
    BENCH_PIDS+=("$pid")
    local st=0
    wait "$pid" || st=$? # sseload bounds every phase itself
    bench_forget "$pid"
    [ "$st" = 0 ] || echo "warning: $name, $n streams, round $r: the harness failed ($st)"
}

# Rounds alternate the two servers, so that both see the same share of the machine's noise.
for n in $streams; do
    burst=$((target / n))
    [ "$burst" -lt 20 ] && burst=20
    for r in $(seq "$rounds"); do
        nginx_start "nchan-$n-$r" "
        location = /pub { nchan_publisher; nchan_channel_id bench; }
        location = /sub {
            nchan_subscriber eventsource;
            nchan_channel_id bench;
            nchan_subscriber_first_message newest;
            access_log $BENCH_TMP/nchan-$n-$r/access.log; # a line as each subscriber is freed
        }
        location = /status { nchan_stub_status; }"
        run_one nchan "$n" "$r" --url "http://127.0.0.1:$NGINX_PORT/sub" \
            --pub-url "http://127.0.0.1:$NGINX_PORT/pub" \
            --count-url "http://127.0.0.1:$NGINX_PORT/status" --count-key subscribers \
            --release-log "$BENCH_TMP/nchan-$n-$r/access.log" --release-match "GET /sub" \
            --rss-pid "$NGINX_WORKERS" --term-pid "$NGINX_PID"
        bench_stop "$NGINX_PID"

        [ "$ft_ok" = 1 ] || continue
        db="$BENCH_TMP/ft-$n-$r/flowtrack.db"
        mkdir -p "$(dirname "$db")"
        "$FT_BIN" --db "$db" create --slug bench 'Bench tracker' >/dev/null
        if flowtrack_start "flowtrack-$n-$r" "$FT_BIN" "$db" --max-streams $((n + 1000)); then
            run_one flowtrack "$n" "$r" --url "$FT_URL/api/trackers/bench/events" \
                --pub-url "$FT_URL/api/trackers/bench/items" --pub-json \
                --count-url "$FT_URL/metrics" --count-key flowtrack_streams_open \
                --release-log "$BENCH_TMP/flowtrack-$n-$r.log" --release-match stream_end \
                --rss-pid "$FT_WORKERS" --term-pid "$FT_PID"
            st=0
            bench_reap "$FT_PID" 10 || st=$?
            [ "$st" = 0 ] || echo "warning: flowtrack serve exited with status $st after SIGTERM"
        fi
        bench_stop "$FT_PID"
    done
done

# ---- report --------------------------------------------------------------------------

val() { # val NAME N KEY: from the first round
    local f="$BENCH_TMP/$1-$2-1.txt"
    [ -f "$f" ] && awk -v k="$3" '$1 == k { print $2; found = 1; exit } END { if (!found) print "-" }' "$f" ||
        echo "-"
}
all() { # all NAME N KEY: the numeric values of every round, one per line
    local r f
    for r in $(seq "$rounds"); do
        f="$BENCH_TMP/$1-$2-$r.txt"
        [ -f "$f" ] && awk -v k="$3" '$1 == k && $2 ~ /^[0-9.]+$/ { print $2; exit }' "$f"
    done
    return 0
}
med() { # med NAME N KEY: median over the rounds, or "-"
    all "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'
}
range() { # range NAME N KEY: min-max over the rounds
    all "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR > 1) printf "%s-%s", a[1], a[NR]; else print "-" }'
}
ratio() { # ratio A B: A/B to two decimals, or "-"
    awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}
kib() {
    awk -v b="$1" 'BEGIN { if (b + 0 > 0) printf "%.1f", b / 1024; else print "-" }'
}
ms() {
    awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.1f", v; else print v }'
}

echo
echo "Fan-out and memory: medians of $rounds round(s) (deliveries/s: a burst of events published back"
echo "to back, range over the rounds in brackets; memory: RSS slope from N/10 to N idle streams;"
echo "server CPU per delivery: the server process's CPU time during the burst over its deliveries,"
echo "less sensitive to other load than deliveries/s; CPU: the server's CPU during the burst, the"
echo "time it was runnable but waiting for a CPU (other load), and sseload's own CPU, 100% = one core)"
echo
echo "| N | deliveries/s nchan | deliveries/s flowtrack | ratio ft/nchan | server CPU µs/delivery nchan / ft (ratio nchan/ft) | KiB/stream nchan | KiB/stream flowtrack | ratio ft/nchan | server CPU / server waiting for a CPU / harness CPU, nchan | same, flowtrack |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $streams; do
    dn=$(med nchan "$n" deliveries_per_s)
    df=$(med flowtrack "$n" deliveries_per_s)
    mn=$(med nchan "$n" bytes_per_stream)
    mf=$(med flowtrack "$n" bytes_per_stream)
    cn=$(med nchan "$n" server_cpu_us_per_delivery)
    cf=$(med flowtrack "$n" server_cpu_us_per_delivery)
    echo "| $n | $dn ($(range nchan "$n" deliveries_per_s)) | $df ($(range flowtrack "$n" deliveries_per_s))" \
        "| $(ratio "$df" "$dn") | $cn / $cf ($(ratio "$cn" "$cf"))" \
        "| $(kib "$mn") | $(kib "$mf") | $(ratio "$mf" "$mn") |" \
        "$(med nchan "$n" server_cpu_pct)% / $(med nchan "$n" server_runqueue_wait_pct)% / $(med nchan "$n" harness_cpu_pct)% |" \
        "$(med flowtrack "$n" server_cpu_pct)% / $(med flowtrack "$n" server_runqueue_wait_pct)% / $(med flowtrack "$n" harness_cpu_pct)% |"
done
echo
echo "Latency and lifecycle (ms; first round, SIGTERM to exit: median of the rounds; latency: events"
echo "published 50 ms apart, every stream's delivery; burst latency: during the burst above;"
echo "release: one idle stream closed by the client among N, until the server logs its end (nginx"
echo "access log line, flowtrack stream_end line), in brackets until its open-stream count drops"
echo "(nchan_stub_status subscribers, flowtrack_streams_open in /metrics), polled after the log line)"
echo
echo "| N | latency p50/p99 nchan | latency p50/p99 flowtrack | burst latency p50/p99 nchan | burst latency p50/p99 flowtrack | release p99 RST/FIN nchan (counter) | release p99 RST/FIN flowtrack (counter) | connect all N nchan / ft | SIGTERM to exit nchan | SIGTERM to exit flowtrack |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $streams; do
    row="| $n"
    for s in nchan flowtrack; do
        row+=" | $(ms "$(val $s "$n" latency_p50_ms)") / $(ms "$(val $s "$n" latency_p99_ms)")"
    done
    for s in nchan flowtrack; do
        row+=" | $(ms "$(val $s "$n" burst_latency_p50_ms)") / $(ms "$(val $s "$n" burst_latency_p99_ms)")"
    done
    for s in nchan flowtrack; do
        row+=" | $(ms "$(val $s "$n" release_log_rst_p99_ms)") / $(ms "$(val $s "$n" release_log_fin_p99_ms)")"
        row+=" ($(ms "$(val $s "$n" release_rst_p99_ms)") / $(ms "$(val $s "$n" release_fin_p99_ms)"))"
    done
    row+=" | $(ms "$(med nchan "$n" connect_all_ms)") / $(ms "$(med flowtrack "$n" connect_all_ms)")"
    for s in nchan flowtrack; do
        row+=" | $(ms "$(med $s "$n" shutdown_exit_ms)")"
    done
    echo "$row |"
done
echo
echo "Scrapes with every stream open (ms, median of the rounds; one request at a time on one"
echo "keep-alive connection, a loopback round trip included: nchan_stub_status, flowtrack /metrics)"
echo
echo "| N | scrape p50 / p99 nchan | scrape p50 / p99 flowtrack |"
echo "|---|---|---|"
for n in $streams; do
    echo "| $n | $(med nchan "$n" scrape_p50_ms) / $(med nchan "$n" scrape_p99_ms)" \
        "| $(med flowtrack "$n" scrape_p50_ms) / $(med flowtrack "$n" scrape_p99_ms) |"
done
echo
# Anything that did not go as asked is worth a look before quoting a figure.
for f in "$BENCH_TMP"/*-*-*.txt; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .txt)
    open=$(awk '$1 == "streams_open" { print $2 }' "$f")
    req=$(awk '$1 == "streams_requested" { print $2 }' "$f")
    got=$(awk '$1 == "burst_deliveries" { print $2 }' "$f")
    exp=$(awk '$1 == "burst_deliveries_expected" { print $2 }' "$f")
    left=$(awk '$1 == "shutdown_streams_left" { print $2 }' "$f")
    [ "$open" = "$req" ] || echo "warning: $name: $open of $req streams opened"
    [ "$got" = "$exp" ] || echo "warning: $name: $got of $exp burst deliveries arrived"
    [ "${left:-0}" = 0 ] || echo "warning: $name: $left streams still open after SIGTERM"
done
if [ -n "${BENCH_KEEP:-}" ]; then
    echo "raw results and logs: $BENCH_TMP"
fi
