#!/usr/bin/env bash
# Running as a service: the server speaks systemd's notification protocol when NOTIFY_SOCKET
# is set (READY=1 with its pid and URL once listening, WATCHDOG=1 every half of
# WATCHDOG_USEC from its loop, STOPPING=1 at SIGTERM), and nothing without it; SIGHUP opens
# --log-file again after it was moved (logrotate) and is harmless without one; the unit file
# in contrib/ passes systemd-analyze verify.
. "$(dirname "$0")/lib.sh"

# A stand-in for systemd's end of the socket: every datagram, one per line ("|" for "\n").
cat >notify.py <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
end = time.monotonic() + 60
with open(sys.argv[2], "w") as out:
    print("bound", file=out, flush=True)
    while time.monotonic() < end:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        print(msg.replace("\n", "|"), file=out, flush=True)
        if "STOPPING=1" in msg:
            break
PY
python3 notify.py "$T_DIR/notify.sock" msgs &
t_track $!
for _ in $(seq 100); do grep -q bound msgs 2>/dev/null && break; sleep 0.05; done
file_contains msgs bound

NOTIFY_SOCKET=$T_DIR/notify.sock WATCHDOG_USEC=200000 start_server
unset NOTIFY_SOCKET WATCHDOG_USEC
for _ in $(seq 100); do grep -q READY=1 msgs && break; sleep 0.05; done
file_contains msgs "READY=1|STATUS=listening on $URL|MAINPID=$SRV_PID"
sleep 1
pings=$(grep -c '^WATCHDOG=1$' msgs || true)
# one at start, then every 100 ms: about 11 in 1 s; a loop that stops turning sends none
[ "$pings" -ge 5 ] || fail "only $pings watchdog pings in 1 s at WATCHDOG_USEC=200000"
file_contains "$T_DIR/server.log" "event=systemd ready=1 watchdog_ms=200"
stop_server
for _ in $(seq 100); do grep -q STOPPING=1 msgs && break; sleep 0.05; done
file_contains msgs "STOPPING=1"
n=$(wc -l <msgs)
sleep 0.3
equals "$(wc -l <msgs)" "$n" "messages after the exit"

# Without NOTIFY_SOCKET: not a word to systemd, no libsystemd loaded.
start_server
grep -q 'event=systemd' "$T_DIR/server.log" && fail "notified without NOTIFY_SOCKET"
grep -q libsystemd "/proc/$SRV_PID/maps" && fail "libsystemd loaded without NOTIFY_SOCKET"
# SIGHUP without --log-file: logged, nothing else
kill -HUP "$SRV_PID"
for _ in $(seq 100); do grep -q 'event=log_reopen' "$T_DIR/server.log" && break; sleep 0.05; done
file_contains "$T_DIR/server.log" 'nothing to reopen'
expect_status 200 "$(api GET /healthz)" "healthz after SIGHUP"
stop_server

# --log-file, moved away and reopened on SIGHUP
log=$T_DIR/flowtrack.log
start_server --log-file "$log"
expect_status 200 "$(api GET /healthz?at=before)" "healthz"
for _ in $(seq 100); do grep -q '/healthz?at=before' "$log" && break; sleep 0.05; done
file_contains "$log" '/healthz?at=before'
grep -q 'event=request' "$T_DIR/server.log" && fail "request lines on stderr with --log-file"
mv "$log" "$log.1"
kill -HUP "$SRV_PID"
for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.05; done
file_contains "$log" "event=log_reopen path=$log"
expect_status 200 "$(api GET /healthz?at=after)" "healthz after the reopen"
for _ in $(seq 100); do grep -q '/healthz?at=after' "$log" && break; sleep 0.05; done
file_contains "$log" '/healthz?at=after'
grep -q 'healthz?at=after' "$log.1" && fail "a line went to the moved file after SIGHUP"
kill -TERM "$SRV_PID"
wait_exit 10
equals "$SRV_RC" 0 "the server's exit status"
file_contains "$log" 'event=stop streams_open=0 flushing=0'

# A log file that cannot be opened: a clear error, exit 1, before listening
expect_code 1 "$FT" --db "$T_DB" serve --listen 127.0.0.1:0 --log-file "$T_DIR/no/such/dir/x.log"
contains "$ERR" "cannot open the log file '$T_DIR/no/such/dir/x.log'"

# The unit file, with ExecStart pointing at this build
if command -v systemd-analyze >/dev/null; then
    sed "s|/usr/local/bin/flowtrack|$FT|" "$FT_SOURCE_DIR/contrib/flowtrack.service" >flowtrack.service
    expect_code 0 systemd-analyze verify "$T_DIR/flowtrack.service"
    [ -z "$ERR$OUT" ] || fail "systemd-analyze verify: $ERR$OUT"
else
    echo "note: no systemd-analyze: the unit file was not verified" >&2
fi
t_done
