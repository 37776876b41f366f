#!/usr/bin/env bash
# An event loop that waits only on descriptors of its own (asyncio's wakeup socket): nothing
# outside the process can wake it, and the diagnosis says so (cause event_loop_idle) rather
# than naming its own socket as a peer that does not act. With a timer, the timer is named.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x $PY ] || skip "no $PY"

cat >future.py <<'PY'
import asyncio
async def main():
    await asyncio.get_running_loop().create_future()   # no one completes it
asyncio.run(main())
PY
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 1 -- $PY future.py >j 2>err
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" event_loop_idle "the culprit's cause"
why=$(jget j 'd["diagnosis"]["culprit"]["why"]')
contains "$why" "is an idle event loop: in epoll_wait on 1 descriptor of its own (its wakeup channel), so nothing outside the process can wake it"
case "$why" in *"due within"*) fail "a timer named where there is none: $why" ;; esac

cat >sleeper.py <<'PY'
import asyncio
async def main():
    while True:
        await asyncio.sleep(30)   # a periodic task, and nothing else
asyncio.run(main())
PY
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 1 -- $PY sleeper.py >j 2>err
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" event_loop_idle "the culprit's cause (timer)"
jget j 'd["diagnosis"]["culprit"]["why"]' | has "but its own timer, due within [0-9]* ms"

# A loop that also watches a socket with a peer elsewhere is not idle: it waits for that peer.
cat >client.py <<'PY'
import asyncio
async def main():
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    r, w = await asyncio.open_connection("127.0.0.1", port)
    await r.read(1)   # the server side never writes
asyncio.run(main())
PY
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 1 -- $PY client.py >j 2>err
cause=$(jget j 'd["diagnosis"]["culprit"]["cause"]')
[ "$cause" != event_loop_idle ] || fail "a loop with a listening and a connected socket called idle"
assert_no_survivors
t_done
