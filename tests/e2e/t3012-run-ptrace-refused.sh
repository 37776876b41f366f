#!/usr/bin/env bash
# A leak by a process flowtrack may not inspect (not dumpable, and flowtrack without
# CAP_SYS_PTRACE): the diagnosis says its descriptors are not readable and stacks
# were refused, instead of showing it as holding nothing; it is still found and ended.
. "$(dirname "$0")/lib.sh"

# As root, drop CAP_SYS_PTRACE for flowtrack and what it starts (eu-stack, gdb).
# CAP_SYS_PTRACE is bit 19 of the effective set.
has_ptrace_cap() {
    local eff
    eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
    [ $((0x$eff >> 19 & 1)) = 1 ]
}
NOCAP=
if has_ptrace_cap; then
    NOCAP="setpriv --bounding-set -sys_ptrace --inh-caps -sys_ptrace --"
    if ! $NOCAP true 2>/dev/null; then
        skip "cannot drop CAP_SYS_PTRACE here (setpriv needs CAP_SETPCAP)"
    fi
fi

expect_rc 122 $OUTER $NOCAP $FT run --no-record --json --settle 0.3 -- $H/sc_nodump >j 2>err
child=$(sed -n 's/.*; child \([0-9]*\) keeps stdout.*/\1/p' err)
[ -n "$child" ] || fail "no child pid in the output"
[ "$(jget j 'd["outcome"]')" = leak ] || fail "outcome"
[ "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" = "$child" ] || fail "culprit is not $child"
[ "$(jget j '[p["fds_error"] for p in d["diagnosis"]["processes"] if p["pid"] == '$child'][0].startswith("not readable: permission denied")')" = True ] ||
    fail "no fds_error for the child: $(jget j 'd["diagnosis"]["processes"]')"
if command -v eu-stack >/dev/null || command -v gdb >/dev/null; then
    [ "$(jget j '"ptrace refused" in d["diagnosis"]["stacks"]["error"]')" = True ] ||
        fail "stacks: $(jget j 'd["diagnosis"]["stacks"]')"
    file_contains err "pid $child: ptrace refused"
fi
file_contains err "descriptors: not readable: permission denied"
[ "$(jget j 'd["diagnosis"]["end"]["survivors"]')" = "[]" ] || fail "survivors"
assert_gone "$child"

assert_no_survivors
t_done
