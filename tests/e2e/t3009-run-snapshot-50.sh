#!/usr/bin/env bash
# A hung session of 51 processes: all of them in the snapshot, and the
# snapshot (no stacks) is quick (the benchmark measures it on a release build).
. "$(dirname "$0")/lib.sh"

expect_rc 124 $OUTER $FT run --no-record --no-stacks --json --timeout 1 -- $H/sc_fanout 50 >j 2>err
[ "$(jget j 'len(d["diagnosis"]["processes"])')" = 51 ] || fail "processes in the snapshot"
[ "$(jget j 'len(d["diagnosis"]["end"]["signalled"])')" = 51 ] || fail "processes signalled"
ms=$(jget j 'd["diagnosis"]["snapshot_ms"]')
echo "snapshot of 51 processes: $ms ms"
[ "$ms" -lt 1000 ] || fail "snapshot took $ms ms"
# the human text lists the first processes (and the culprit) and counts the rest
file_contains err "... 39 more processes"
# the culprit is a sleeper, not the parent waiting for its children
[ "$(jget j 'd["diagnosis"]["culprit"]["pid"] != d["diagnosis"]["main"]["pid"]')" = True ] ||
    fail "culprit is the waiting parent"

assert_no_survivors
t_done
