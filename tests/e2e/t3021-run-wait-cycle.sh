#!/usr/bin/env bash
# Waits across processes: a file lock's holder is named (flock and POSIX locks, from
# /proc/locks), and a wait that cannot end because the other side is a parent waiting for
# its children is called a wait cycle: the subprocess pipe deadlock (the parent waits for a
# child that is blocked writing the pipe only the parent reads) and a lock held by a parent
# that waits for the child asking for it.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x $PY ] || skip "no $PY"

cat >pipe.py <<'PY'
import subprocess
p = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
p.wait()
PY
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 1 -- $PY pipe.py >j 2>err
equals "$(jget j 'd["diagnosis"]["culprit"]["comm"]')" yes "the culprit"
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" wait_cycle "the culprit's cause"
parent=$(jget j '[p["pid"] for p in d["diagnosis"]["processes"] if p["comm"] == "python3"][0]')
jget j 'd["diagnosis"]["culprit"]["why"]' |
    has -F "blocked in write on fd 1: pipe:["
jget j 'd["diagnosis"]["culprit"]["why"]' |
    has -F "the other side, pid $parent (python3), is waiting for its children (wait4) instead: each waits for the other"
file_contains err "likely culprit: pid"

cat >lockf.py <<PY
import fcntl, os
f = open("$T_DIR/lockf", "w")
fcntl.lockf(f, fcntl.LOCK_EX)
if os.fork() == 0:
    g = open("$T_DIR/lockf", "w")
    fcntl.lockf(g, fcntl.LOCK_EX)
    os._exit(0)
os.wait()
PY
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 1 -- $PY lockf.py >j 2>err
parent=$(jget j '[p["pid"] for p in d["diagnosis"]["processes"] if p["main"]][0]')
child=$(jget j '[p["pid"] for p in d["diagnosis"]["processes"] if not p["main"]][0]')
equals "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" "$child" "the culprit"
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" wait_cycle "the culprit's cause"
th='[t for p in d["diagnosis"]["processes"] if p["pid"] == '$child' for t in p["threads"]][0]'
equals "$(jget j "($th[\"syscall\"], $th[\"lock_holder\"][\"pid\"], $th[\"lock_holder\"][\"kind\"])")" \
    "('fcntl', $parent, 'POSIX')" "the lock's holder"
jget j 'd["diagnosis"]["culprit"]["why"]' | has -F "$T_DIR/lockf: locked (POSIX WRITE) by pid $parent (python3)"

# flock(1) in the background holds the lock; the second waits: blocked on a lock, no cycle.
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 1 -- \
    sh -c "flock '$T_DIR/lk' sleep 60 & sleep 0.3; flock '$T_DIR/lk' true" >j 2>err
holder=$(jget j '[p["pid"] for p in d["diagnosis"]["processes"] if p["comm"] == "flock" and p["threads"][0].get("syscall") == "wait4"][0]')
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" blocked_on_lock "the culprit's cause"
jget j 'd["diagnosis"]["culprit"]["why"]' |
    has -F ": $T_DIR/lk: locked (FLOCK WRITE) by pid $holder (flock)"
assert_no_survivors
t_done
