#!/usr/bin/env bash
# Native stacks from eu-stack, else gdb, else none: without either the rest of
# the diagnosis stands (and says why there are no stacks).
. "$(dirname "$0")/lib.sh"
mkdir none gdbonly euonly

# no tool at all: no stacks, a reason, and the culprit found from /proc alone
expect_rc 124 $OUTER env PATH="$T_DIR/none" $FT run --no-record --json --timeout 0.5 -- $H/sc_deadlock >j 2>err
[ "$(jget j 'd["diagnosis"]["stacks"]["error"]')" = "no eu-stack (elfutils) or gdb installed: no native stacks" ] ||
    fail "stacks without tools: $(jget j 'd["diagnosis"]["stacks"]')"
[ "$(jget j 'any("stack" in t for p in d["diagnosis"]["processes"] for t in p["threads"])')" = False ] ||
    fail "stacks from nowhere"
[ "$(jget j '"deadlock" in d["diagnosis"]["culprit"]["why"]')" = True ] || fail "culprit without stacks"

for tool in gdb eu-stack; do
    path=$(command -v $tool) || { echo "skip: no $tool"; continue; }
    dir=gdbonly
    [ $tool = eu-stack ] && dir=euonly
    ln -s "$path" $dir/$tool
    expect_rc 124 $OUTER env PATH="$T_DIR/$dir" $FT run --no-record --json --timeout 0.5 -- $H/sc_deadlock >j 2>err
    [ "$(jget j 'd["diagnosis"]["stacks"]["tool"]')" = $tool ] || fail "$tool not used"
    [ "$(jget j 'sum(1 for p in d["diagnosis"]["processes"] for t in p["threads"] if any("mutex_lock" in f for f in t.get("stack", [])))')" = 2 ] ||
        fail "$tool stacks: $(jget j 'd["diagnosis"]["stacks"]')"
done

assert_no_survivors
t_done
