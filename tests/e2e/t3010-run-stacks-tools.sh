#!/usr/bin/env bash
# Native stacks from eu-stack, else gdb, else none: without either the rest of
# the diagnosis stands (and says why there are no stacks). Each tool is checked
# alone when installed; with neither installed the test ends as skipped (77)
# after the check without tools, and with one of them it says which was not checked.
. "$(dirname "$0")/lib.sh"
mkdir none gdbonly euonly

# no tool at all: no stacks, a reason, and the culprit found from /proc alone
expect_rc 124 $OUTER env PATH="$T_DIR/none" $FT run --no-record --json --timeout 0.5 -- $H/sc_deadlock >j 2>err
[ "$(jget j 'd["diagnosis"]["stacks"]["error"]')" = "no eu-stack (elfutils) or gdb installed: no native stacks" ] ||
    fail "stacks without tools: $(jget j 'd["diagnosis"]["stacks"]')"
[ "$(jget j 'any("stack" in t for p in d["diagnosis"]["processes"] for t in p["threads"])')" = False ] ||
    fail "stacks from nowhere"
[ "$(jget j '"deadlock" in d["diagnosis"]["culprit"]["why"]')" = True ] || fail "culprit without stacks"

# each stack tool alone, when installed
checked=
for tool in gdb eu-stack; do
    if ! path=$(command -v $tool); then
        echo "note: $tool is not installed: stacks from $tool alone are not checked (skipped)"
        continue
    fi
    checked="$checked $tool"
    dir=gdbonly
    [ $tool = eu-stack ] && dir=euonly
    ln -s "$path" $dir/$tool
    expect_rc 124 $OUTER env PATH="$T_DIR/$dir" $FT run --no-record --json --timeout 0.5 -- $H/sc_deadlock >j 2>err
    [ "$(jget j 'd["diagnosis"]["stacks"]["tool"]')" = $tool ] || fail "$tool not used"
    [ "$(jget j 'sum(1 for p in d["diagnosis"]["processes"] for t in p["threads"] if any("mutex_lock" in f for f in t.get("stack", [])))')" = 2 ] ||
        fail "$tool stacks: $(jget j 'd["diagnosis"]["stacks"]')"
done

assert_no_survivors
[ -n "$checked" ] ||
    skip "neither gdb nor eu-stack is installed: the diagnosis without a stack tool passed, no tool's stacks were checked"
t_done
