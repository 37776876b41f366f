#!/usr/bin/env bash
# Python-level stacks: a lock-order inversion between two Python threads
# (tests/helpers/sc_py_deadlock.py) under Debian's /usr/bin/python3 with python3.X-dbg. The run
# is a hang; each blocked thread's Python stack names its function and the line of its blocked
# acquire (read from the helper, not written here), both threads are blocked_on_lock and the
# culprit names the Python line; `flowtrack diagnose` gives the same; a copy of the
# interpreter, which gdb has no extension for, gets a plain reason instead; nothing survives.
# Skips only when gdb or the interpreter's gdb extension (python3.X-dbg) is not installed.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
SC=$FT_SOURCE_DIR/tests/helpers/sc_py_deadlock.py
[ -x $PY ] || skip "no $PY: no Debian Python to take Python stacks of"
command -v gdb >/dev/null || skip "gdb is not installed: no Python stacks (scripts/install-deps.sh installs it)"
real=$(readlink -f $PY) # /usr/bin/python3.11
ver=${real##*/python}   # 3.11
ext=/usr/share/gdb/auto-load$real-gdb.py
[ -r "$ext" ] || skip "python$ver-dbg is not installed (no $ext): no Python stacks (scripts/install-deps.sh installs it)"

line_a=$(grep -n '# blocks: A' "$SC" | cut -d: -f1)
line_b=$(grep -n '# blocks: B' "$SC" | cut -d: -f1)
[ -n "$line_a" ] && [ -n "$line_b" ] || fail "no '# blocks:' lines in $SC"

# py_run ROOT RC CMD...: `expect_rc RC CMD... --stack-budget B >j 2>err` (CMD ends with
# "run" or "diagnose" options, before any "--"), again while a Python process of the diagnosis
# at ROOT (of the JSON d in j) has no Python stack for want of time: gdb needs about 0.6 s of
# CPU, which a machine busy with other tests (or a sanitizer build) can stretch past the
# default 2 s budget; the bound holds then too (the process says why it has no stack). The
# retries give the stacks 10 s, then 30 s: what is tested here is what the stacks say; their
# time is measured by bench/runner.
py_run() {
    local root=$1 rc=$2 i budget
    shift 2
    local args=("$@") k
    for k in "${!args[@]}"; do [ "${args[$k]}" = -- ] && break; done
    [ "${args[$k]}" = -- ] || k=${#args[@]}
    for budget in 2s 10s 30s; do
        expect_rc "$rc" "${args[@]:0:$k}" --stack-budget $budget "${args[@]:$k}" >j 2>err
        budget_ms=$((${budget%s} * 1000))
        [ "$(jget j 'any(p.get("py_error", "") in ("gdb did not finish in time", "time or process budget used up: no Python stack") for p in '"$root"'["processes"])')" = False ] &&
            return 0
        echo "note: --stack-budget $budget: no Python stack in time (a busy machine?): $(jget j "$root"'["stacks"]')"
    done
    fail "no Python stack within 30 s"
}

# the innermost Python frame of thread TID of the diagnosis in FILE, as "function file:line"
py_top() {
    jget "$1" '" ".join(str(x) for t in [t for p in '"$2"'["processes"] for t in p["threads"] if t["tid"] == '"$3"'] for f in t["py_stack"][:1] for x in (f["function"], f["file"] + ":" + str(f["line"])))'
}

py_run 'd["diagnosis"]' 124 $OUTER $FT run --no-record --json --timeout 1 -- $PY "$SC"
main=$(jget j 'd["diagnosis"]["main"]["pid"]')
a=$(sed -n 's/^thread A \([0-9]*\) holds lock1$/\1/p' err)
b=$(sed -n 's/^thread B \([0-9]*\) holds lock2$/\1/p' err)
[ -n "$a" ] && [ -n "$b" ] || fail "the helper did not say its threads: $(cat err)"
equals "$(jget j 'd["outcome"]')" hang "the outcome"
equals "$(jget j 'd["diagnosis"]["processes"][0]["python"]')" "$ver" "the Python version"
equals "$(jget j '"python_error" in d["diagnosis"]["stacks"]')" False \
    "a Python stack error: $(jget j 'd["diagnosis"]["stacks"]')"
equals "$(py_top j 'd["diagnosis"]' "$a")" "thread_a $SC:$line_a" "thread A's innermost Python frame"
equals "$(py_top j 'd["diagnosis"]' "$b")" "thread_b $SC:$line_b" "thread B's innermost Python frame"
equals "$(jget j '[t["cause"] for p in d["diagnosis"]["processes"] for t in p["threads"] if t["tid"] in ('"$a, $b"')]')" \
    "['blocked_on_lock', 'blocked_on_lock']" "the blocked threads' causes"
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" blocked_on_lock "the culprit's cause"
jget j 'd["diagnosis"]["culprit"]["why"]' | has -F -e "; in Python: $SC:$line_a in thread_a: " -e "; in Python: $SC:$line_b in thread_b: "
file_contains err "      py: thread_a ($SC:$line_a): lock2.acquire()"
file_contains err "      py: thread_b ($SC:$line_b): with lock1:"
# the time of the snapshot and of its stacks, Python ones included: the stacks within their
# budget (and the second it may take to end a tool at the deadline); about 0.6 s on an idle
# machine (docs/runner.md; measured by bench/runner)
snap=$(jget j 'd["diagnosis"]["snapshot_ms"]')
ms=$(jget j 'd["diagnosis"]["stacks"]["ms"]')
py_ms=$(jget j 'd["diagnosis"]["stacks"]["python_ms"]')
echo "note: snapshot $snap ms, stacks $ms ms (of which the Python stacks $py_ms ms)"
[ "$ms" -le $((budget_ms + 1000)) ] || fail "the stacks took $ms ms, over their budget of $budget_ms ms"
assert_gone "$main"

# flowtrack diagnose on the same program started outside flowtrack: the same Python stacks
$PY "$SC" >"$T_DIR/py.out" 2>&1 &
pid=$!
t_track $pid
for _ in $(seq 1 200); do
    grep -q "thread B" "$T_DIR/py.out" && grep -q "thread A" "$T_DIR/py.out" && break
    sleep 0.02
done
sleep 0.2 # both threads now wait for the other's lock
a=$(sed -n 's/^thread A \([0-9]*\) holds lock1$/\1/p' "$T_DIR/py.out")
py_run d 0 $OUTER $FT diagnose --json -- "$pid"
equals "$(py_top j d "$a")" "thread_a $SC:$line_a" "diagnose: thread A's innermost Python frame"
kill -0 "$pid" || fail "diagnose ended the process"
{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null || true

# a copy of the interpreter: gdb has no extension for it, and the diagnosis says so
cp "$real" "$T_DIR/python$ver"
py_run 'd["diagnosis"]' 124 $OUTER $FT run --no-record --json --timeout 0.5 -- "$T_DIR/python$ver" "$SC"
jget j 'd["diagnosis"]["processes"][0]["py_error"]' |
    has -F "gdb has no Python extension for this interpreter ($T_DIR/python$ver)"
jget j 'd["diagnosis"]["stacks"]["python_error"]' | has -F "no Python extension"
file_contains err "    Python stacks: gdb has no Python extension"

assert_no_survivors
t_done
