#!/usr/bin/env bash
# Descriptors resolved in the snapshot beyond TCP: a UDP socket (addresses and
# state), a listening unix socket (its path), a file.
. "$(dirname "$0")/lib.sh"

cat >sockets.py <<'PY'
import os, socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.connect(("127.0.0.1", 9))
x = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
x.bind(sys.argv[1])
x.listen(1)
f = open(sys.argv[2], "w")
print("udp %d %s:%d unix %d file %d" % (os.getpid(), *u.getsockname(), x.fileno(), f.fileno()), flush=True)
time.sleep(60)
PY
expect_rc 124 $OUTER $FT run --no-record --no-stacks --json --timeout 1 -- python3 sockets.py "$T_DIR/s.sock" "$T_DIR/held.txt" >j 2>err
pid=$(sed -n 's/^udp \([0-9]*\) .*/\1/p' err)
local_addr=$(sed -n 's/^udp [0-9]* \([0-9.:]*\) .*/\1/p' err)
[ -n "$pid" ] || fail "no pid"
fds() { jget j '[f["desc"] for p in d["diagnosis"]["processes"] if p["pid"] == '$pid' for f in p["fds"]]'; }
case "$(fds)" in *"udp $local_addr -> 127.0.0.1:9 ESTABLISHED"*) ;; *) fail "udp socket: $(fds)" ;; esac
case "$(fds)" in *"unix stream socket LISTEN $T_DIR/s.sock"*) ;; *) fail "unix socket: $(fds)" ;; esac
case "$(fds)" in *"$T_DIR/held.txt"*) ;; *) fail "file: $(fds)" ;; esac
assert_gone "$pid"

assert_no_survivors
t_done
