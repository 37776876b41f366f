#!/usr/bin/env bash
# serve: the listening line and ready file, /healthz, /metrics in Prometheus text with every
# documented family, the help page, usage errors, and a clean stop.
. "$(dirname "$0")/lib.sh"

"$FT" serve --help | has "flowtrack serve - the JSON API" || fail "serve --help"
"$FT" --help | has "^  serve " || fail "serve missing from the command list"
rc=0
"$FT" --db "$T_DB" serve --heartbeat soon 2>"$T_DIR/err" || rc=$?
[ $rc -eq 2 ] && grep -q "heartbeat" "$T_DIR/err" || fail "bad --heartbeat: status $rc"
rc=0
"$FT" --db "$T_DB" serve --listen nonsense 2>"$T_DIR/err" || rc=$?
[ $rc -eq 2 ] || fail "bad --listen: status $rc"

start_server
[[ "$URL" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "ready file holds '$URL'"
[ "$(curl -sS --max-time 5 "$URL/healthz")" = ok ] || fail "/healthz"
curl -sS --max-time 5 -D "$T_DIR/h" -o "$T_DIR/m" "$URL/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$T_DIR/h" || fail "metrics content type"
for name in flowtrack_streams_open flowtrack_streams_closed_total flowtrack_events_delivered_total \
    flowtrack_http_requests_total flowtrack_http_request_duration_seconds \
    flowtrack_store_handles_open flowtrack_process_open_fds flowtrack_process_resident_memory_bytes \
    flowtrack_process_resident_anon_memory_bytes; do
    grep -q "^# TYPE $name " "$T_DIR/m" || fail "no metric family $name"
done
for r in complete client_closed error idle_timeout slow_reader shutdown; do
    grep -q "^flowtrack_streams_closed_total{reason=\"$r\"} 0\$" "$T_DIR/m" || fail "reason $r not at 0"
done
grep -q '^flowtrack_http_requests_total{route="/healthz",code="200"} 1$' "$T_DIR/m" ||
    fail "the /healthz request was not counted"
grep -q '^flowtrack_http_request_duration_seconds_bucket{le="+Inf"} 1$' "$T_DIR/m" ||
    fail "duration histogram"
grep -q "^flowtrack_store_handles_open $FT_LOOPS\$" "$T_DIR/m" || fail "store handle gauge"
grep -q "^flowtrack_workers $FT_LOOPS\$" "$T_DIR/m" || fail "workers gauge"
grep -q 'event=request method=GET path=/healthz route=/healthz status=200' "$T_DIR/server.log" ||
    fail "no logfmt request line"
stop_server
t_done
