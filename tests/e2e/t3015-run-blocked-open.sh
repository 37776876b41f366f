#!/usr/bin/env bash
# A process blocked opening a FIFO that has no partner: the diagnosis names the syscall's
# path (read from the process's memory) and what the open waits for, for a reader (waiting
# for a writer) and for a writer (waiting for a reader).
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
assert_no_survivors
t_done
