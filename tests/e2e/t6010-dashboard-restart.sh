#!/usr/bin/env bash
# The server restarts under an open dashboard: the page shows it is reconnecting, comes back
# with Last-Event-ID, shows the item written while the server was down exactly once, and keeps
# following later writes.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "a browser test: it always talks to a server"

"$FT" import --slug sse "$FT_SOURCE_DIR/examples/sse-stream-release.txt" >/dev/null
start_server
port=${URL##*:}
browser_start restart "$URL" sse "$T_DIR"
for _ in $(seq 1 1200); do
    [ -e "$T_DIR/need-restart" ] && break
    kill -0 "$BROWSER_PID" 2>/dev/null || break
    sleep 0.05
done
[ -e "$T_DIR/need-restart" ] || browser_wait
stop_server
text="written while the server was down $$"
ft item add -t sse "$text" >/dev/null
sleep 1 # the page retries against a closed port meanwhile
start_server --listen "127.0.0.1:$port"
equals "$URL" "http://127.0.0.1:$port" "the restarted server's address"
echo "$text" >"$T_DIR/restarted.tmp" && mv "$T_DIR/restarted.tmp" "$T_DIR/restarted"
browser_wait
stop_server
t_done
