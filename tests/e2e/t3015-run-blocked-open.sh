#!/usr/bin/env bash
# A process blocked opening a FIFO that has no partner: the diagnosis names the syscall's
# path (read from the process's memory) and what the open waits for, for a reader (waiting
# for a writer) and for a writer (waiting for a reader), with cat and sh and with the
# scenario program sc_fifo_open.
. "$(dirname "$0")/lib.sh"

mkfifo "$T_DIR/pipe"
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 0.5 -- cat "$T_DIR/pipe" >j 2>err
jget j 'd["diagnosis"]["culprit"]["why"]' |
    has "blocked in openat of $T_DIR/pipe: FIFO $T_DIR/pipe (the open for reading waits for a writer)"
equals "$(jget j 'd["diagnosis"]["processes"][0]["threads"][0]["path"]')" "$T_DIR/pipe" "the thread's path"
file_contains err "in openat($T_DIR/pipe)"
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" waiting_for_peer "the culprit's cause"

expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 0.5 -- sh -c "echo x > '$T_DIR/pipe'" >j 2>err
jget j 'd["diagnosis"]["culprit"]["why"]' | has "the open for writing waits for a reader"
# The scenario program: a child opens a FIFO its parent made, for each direction; the opener
# is the culprit, below a parent that waits for it.
for dir in read write; do
    rm -f "$T_DIR/ctl"
    expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 0.5 -- $H/sc_fifo_open $dir "$T_DIR/ctl" >j 2>err
    opener=$(sed -n 's/^opener \([0-9]*\) .*/\1/p' err)
    [ -n "$opener" ] || fail "the helper did not say its pid: $(cat err)"
    equals "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" "$opener" "the culprit ($dir)"
    partner=writer mode=reading
    [ $dir = write ] && partner=reader mode=writing
    jget j 'd["diagnosis"]["culprit"]["why"]' |
        has -F "blocked in openat of $T_DIR/ctl: FIFO $T_DIR/ctl (the open for $mode waits for a $partner)"
done
assert_no_survivors
t_done
