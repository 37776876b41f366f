#!/usr/bin/env bash
# flowtrack run --no-record: pass, fail, crash, cannot execute, not found, timeout,
# stdin, output capture (tail, invalid UTF-8), interrupt, usage errors.
. "$(dirname "$0")/lib.sh"

# pass: exit 0, both streams echoed where they belong
expect_rc 0 $OUTER $FT run --no-record -- $H/sc_basic exit 0 >out 2>err
file_contains out "sc_basic stdout line"
file_contains err "sc_basic stderr line"

# a zero settle time is not a false leak when the output's EOF is merely unread yet
for _ in $(seq 20); do
    expect_rc 0 $OUTER $FT run --no-record --settle 0 -- $H/sc_basic exit 0 >out 2>err
done

# fail: the command's own status
expect_rc 3 $OUTER $FT run --no-record -- $H/sc_basic exit 3 >out 2>err
# options after the command are the command's
expect_rc 0 $OUTER $FT run --no-record $H/sc_basic exit --timeout >out 2>err

# crash: 128 + SIGSEGV, outcome crash, in JSON
expect_rc 139 $OUTER $FT run --no-record --json -- $H/sc_basic crash >j 2>err
[ "$(jget j 'd["outcome"]')" = crash ] || fail "crash outcome"
[ "$(jget j 'd["signal"]')" = 11 ] || fail "crash signal"
[ "$(jget j 'd["diagnosis"]["main"]["signal"]')" = SIGSEGV ] || fail "crash diagnosis"
file_contains err "crash: the command was killed by SIGSEGV"

# 127 not found, 126 not executable
expect_rc 127 $OUTER $FT run --no-record -- ./no-such-command >out 2>err
file_contains err "no-such-command"
printf '#!/bin/sh\necho hi\n' >noexec.sh
expect_rc 126 $OUTER $FT run --no-record -- ./noexec.sh >out 2>err

# JSON: pass, not recorded, log holds both streams; stdout carries only the JSON
expect_rc 0 $OUTER $FT run --no-record --json -- $H/sc_basic exit 0 >j 2>err
[ "$(jget j 'd["outcome"]')" = pass ] || fail "json outcome"
[ "$(jget j 'd["recorded"]')" = False ] || fail "json recorded"
[ "$(jget j 'd["exit_status"]')" = 0 ] || fail "json exit_status"
[ "$(jget j '"sc_basic stdout line" in d["log"] and "sc_basic stderr line" in d["log"]')" = True ] ||
    fail "json log"
file_contains err "sc_basic stdout line"

# output that is not UTF-8 is stored with U+FFFD and never breaks JSON
expect_rc 0 $OUTER $FT run --no-record --json -- $H/sc_basic badutf8 >j 2>err
[ "$(jget j 'd["log"].count("\ufffd") >= 4 and d["log"].endswith("end \u00e9\n")')" = True ] ||
    fail "utf-8 sanitizing: $(cat j)"

# a big output: the tail is kept, whole lines, and marked truncated
expect_rc 0 $OUTER $FT run --no-record --json -- $H/sc_basic spew 1000000 >j 2>/dev/null
[ "$(jget j 'd["log_truncated"]')" = True ] || fail "truncated flag"
[ "$(jget j 'len(d["log"]) <= 262144 and d["log"].startswith("line ")')" = True ] || fail "tail"

# a reader of flowtrack's output that does not read does not hold the run past its timeout
t0=$(date +%s%N)
( rc=0
  $OUTER $FT run --no-record --no-stacks --timeout 1 -- $H/sc_basic spew 100000000 2>err || rc=$?
  echo $rc >rc
  echo $((($(date +%s%N) - t0) / 1000000)) >ms ) | sleep 4
[ "$(cat rc)" = 124 ] || fail "slow reader: exit status $(cat rc)"
[ "$(cat ms)" -lt 3000 ] || fail "slow reader: the run took $(cat ms) ms"
file_contains err "note: flowtrack's own output was not read fast enough"

# stdin inherited; --no-stdin gives /dev/null
$OUTER $FT run --no-record -- $H/sc_basic stdin <<<"from stdin" >out 2>err || fail "stdin run"
file_contains out "from stdin"
$OUTER $FT run --no-record --no-stdin -- $H/sc_basic stdin <<<"from stdin" >out 2>err ||
    fail "no-stdin run"
[ ! -s out ] || fail "--no-stdin still read stdin"

# timeout: 124, as timeout(1)
expect_rc 124 $OUTER $FT run --no-record --timeout 0.3 -- $H/sc_basic sleep 60 >out 2>err
file_contains err "hang: still running at the timeout (300ms)"

# Ctrl-C (SIGINT) is forwarded to the group; outcome interrupted, 130
rm -f out err # a fresh file: the wait below must see this run's output
$FT run --no-record --timeout 60 -- $H/sc_basic sleep 60 >out 2>err &
ft=$!
for _ in $(seq 100); do grep -q sleeping out && break; sleep 0.05; done
kill -INT $ft
rc=0
wait $ft || rc=$?
[ $rc = 130 ] || fail "interrupted exit status $rc"
file_contains err "interrupted: flowtrack received SIGINT and forwarded it"
file_contains err "ended: SIGINT to group"

# flowtrack's own errors: 125
expect_rc 125 $FT run --no-record --timeout xyz -- true 2>err
expect_rc 125 $FT run --no-record --bogus -- true 2>err
expect_rc 125 $FT run --no-record 2>err
# recording needs a store
expect_rc 125 $FT run -- true 2>err
file_contains err "no store"

assert_no_survivors
t_done
