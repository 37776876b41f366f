#!/usr/bin/env bash
# flowtrack sync FILE (docs/sync.md): a Markdown file kept in step with a tracker, both ways.
#
#  - round trip: the first sync writes the file; hand edits (an item's state, a new item, a
#    hypothesis's verdict) reach the store as events of the actor; a store change rewrites
#    the file; the file is always the store's rendering and no temporary file is left;
#  - a conflict (the same item changed in the file and the store) exits 4 and writes nothing
#    on either side (the file's bytes and show --json are the same), the report names the
#    entry; --theirs and --ours settle it for their side; changes to different entries on
#    both sides both apply;
#  - the first sync of a file and a tracker that both exist: the same content is adopted,
#    what differs is a conflict;
#  - --watch: a file edit reaches the store, a CLI write reaches the file, a file replaced
#    by rename is read, a deleted file pauses the sync (and it goes on once the file is back),
#    SIGTERM ends it with 0 within 2 s;
#  - a sync killed (SIGKILL) at random points 50 times while it rewrites a large tracker
#    leaves the file as the old or the new rendering, byte for byte, and parseable; so does a
#    sync killed at each of its write, fsync and rename calls in turn (strace); the next sync
#    removes the temporary file a killed one left.
# The remote copy runs every command through a server (the bases live in XDG_STATE_HOME).
. "$(dirname "$0")/lib.sh"

export XDG_STATE_HOME=$T_DIR/state
ex=$FT_SOURCE_DIR/examples/sse-stream-release.txt
"$FT" import --slug sse "$ex" >/dev/null

# num KIND TEXT-PREFIX: the number of the entry of KIND whose text starts with TEXT-PREFIX.
num() {
    "$FT" show --json sse | python3 -c '
import json, sys
d = json.load(sys.stdin)
key = {"item": "items", "hyp": "hypotheses", "rule": "rules", "note": "notes"}[sys.argv[1]]
for e in d[key]:
    if (e.get("text") or "").startswith(sys.argv[2]):
        print(e["num"]); break
else:
    sys.exit("no %s starting with %r" % (sys.argv[1], sys.argv[2]))' "$1" "$2"
}

# edit FILE PYTHON: run PYTHON over the file's text (bound to s), in place.
edit() {
    python3 -c '
import sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
exec(sys.argv[2])
open(p, "w", encoding="utf-8").write(s)' "$1" "$2"
}

# same_as_store FILE: the file is the store's Markdown rendering, byte for byte.
same_as_store() {
    "$FT" show --format md sse >"$T_DIR/store.md"
    cmp -s "$T_DIR/store.md" "$1" || {
        diff "$T_DIR/store.md" "$1" >&3 || true
        fail "$1 is not the store's rendering"
    }
}

no_temps() {
    local left
    left=$(find "$T_DIR" -name '*.ft-sync-*' | head -3)
    [ -z "$left" ] || fail "temporary files left behind: $left"
}

# ---- round trip ---------------------------------------------------------------------------
expect_code 0 "$FT" sync -t sse T.md
contains "$OUT" "written from tracker sse"
same_as_store T.md
expect_code 0 "$FT" sync -t sse T.md
contains "$OUT" "up to date"
no_temps

reg=$(num item 'Add the connect/abort')
cursor=$(num hyp 'The store cursor')
edit T.md '
s = s.replace("- Add the connect/abort regression test to the default suite.\n", "")
s = s.replace("### ✅ Completed\n\n", "### ✅ Completed\n\n- Add the connect/abort regression test to the default suite.\n")
s = s.replace("### ⏳ Pending\n\n", "### ⏳ Pending\n\n- Check the fix on arm64 too.\n")
s = s.replace("**Open:** The store cursor", "**Confirmed:** The store cursor")'
before=$("$FT" history --json -t sse | tail -n 1 | json 'd["seq"]')
expect_code 0 "$FT" --actor hand sync T.md
contains "$OUT" "3 changes applied to tracker sse"
"$FT" show --json sse >"$T_DIR/s.json"
equals "$(jget "$T_DIR/s.json" "[e['state'] for e in d['items'] if e['num'] == $reg][0]")" done "item $reg's state"
equals "$(jget "$T_DIR/s.json" "[e['state'] for e in d['items'] if e['text'] == 'Check the fix on arm64 too.'][0]")" pending "the new item"
equals "$(jget "$T_DIR/s.json" "[e['verdict'] for e in d['hypotheses'] if e['num'] == $cursor][0]")" confirmed "hypothesis $cursor's verdict"
"$FT" history --json -t sse --since "$before" >"$T_DIR/h.json"
equals "$(python3 -c 'import json,sys; print(sorted((e["actor"], e["kind"]) for e in map(json.loads, open(sys.argv[1]))))' "$T_DIR/h.json")" \
    "[('hand', 'hyp.update'), ('hand', 'item.add'), ('hand', 'item.update')]" "the events of the sync"
"$FT" history -t sse --limit 3 | has "hand.*item.update.*#$reg"
same_as_store T.md

# a store change rewrites the file
"$FT" result add --outcome pass --notes '0 streams left' 'Ran the abort loop again' >/dev/null
expect_code 0 "$FT" sync T.md
contains "$OUT" "written from tracker sse"
file_contains T.md 'Ran the abort loop again → pass + 0 streams left'
same_as_store T.md
no_temps

# ---- conflicts ----------------------------------------------------------------------------
ops=$(num item 'Describe in the operations guide')
conflict_setup() { # the same item: doing in the store, done in the file
    "$FT" --actor store item edit "$ops" --state "$1" >/dev/null
    edit T.md "
s = s.replace('- Describe in the operations guide which metrics reveal a leak coming back.\n', '')
s = s.replace('$2\n\n', '$2\n\n- Describe in the operations guide which metrics reveal a leak coming back.\n')"
}
conflict_setup doing '### ✅ Completed'
cp T.md "$T_DIR/before.md"
"$FT" show --json sse >"$T_DIR/before.json"
expect_code 4 "$FT" sync T.md
contains "$ERR" "conflict"
contains "$ERR" "item $ops \"Describe in the operations guide"
contains "$ERR" 'state: file "done", store "doing"'
cmp T.md "$T_DIR/before.md" || fail "a conflict changed the file"
"$FT" show --json sse | cmp - "$T_DIR/before.json" || fail "a conflict changed the store"
expect_code 4 "$FT" --json sync T.md
equals "$(json 'd["conflicts"][0]["num"], d["conflicts"][0]["field"]' <<<"$OUT")" "$ops state" "--json's conflict"
no_temps

# --theirs: the store's state stays, and the file says so
expect_code 0 "$FT" sync --theirs T.md
contains "$ERR" "settled for the tracker"
equals "$("$FT" item show "$ops" --json | json 'd["state"]')" doing "--theirs: the state"
same_as_store T.md

# --ours: the file's state wins
conflict_setup dropped '### ✅ Completed'
expect_code 4 "$FT" sync T.md
expect_code 0 "$FT" --actor hand sync --ours T.md
equals "$("$FT" item show "$ops" --json | json 'd["state"]')" done "--ours: the state"
same_as_store T.md

# different entries changed on both sides: both apply
r1=$(num rule 'Leave the store schema alone')
"$FT" hyp rule-out "$cursor" --evidence 'no transaction is open after the loop' >/dev/null
edit T.md 's = s.replace("3. Leave the store schema alone during this work.", "3. Leave the store schema alone until the fix ships.")'
expect_code 0 "$FT" sync T.md
equals "$("$FT" rule show "$r1" --json | json 'd["text"]')" "Leave the store schema alone until the fix ships." "the file's rule"
equals "$("$FT" hyp show "$cursor" --json | json 'd["verdict"]')" ruled-out "the store's verdict"
file_contains T.md '3. Leave the store schema alone until the fix ships.'
file_contains T.md '**Ruled out:** The store cursor holds a read transaction'
same_as_store T.md

# ---- the first sync of a file and a tracker that both exist -------------------------------
"$FT" show --format md sse >Copy.md
expect_code 0 "$FT" sync -t sse Copy.md
contains "$OUT" "in step with tracker sse"
"$FT" show --format md sse >Other.md
edit Other.md 's = s.replace("- **Owner:** Server maintainers", "- **Owner:** Someone else")'
cp Other.md "$T_DIR/other.md"
expect_code 4 "$FT" sync -t sse Other.md
contains "$ERR" 'header owner: file "Someone else", store "Server maintainers"'
cmp Other.md "$T_DIR/other.md" || fail "a first-sync conflict changed the file"
# a file with no tracker is imported
cp "$FT_SOURCE_DIR/examples/sse-stream-release.txt" New.txt
expect_code 0 "$FT" sync -t fresh New.txt
contains "$OUT" "imported as tracker fresh"
"$FT" show --format text fresh | cmp - New.txt || fail "the imported file is not the tracker's text"

# ---- --watch ------------------------------------------------------------------------------
# wait_until SECONDS CMD...: CMD succeeds within the bound.
wait_until() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 20; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}
store_has() { "$FT" show --format md sse | has -F -- "$1"; }
"$FT" sync --watch -t sse W.md >"$T_DIR/watch.out" 2>"$T_DIR/watch.err" &
wp=$!
t_track $wp
wait_until 5 grep -q watching "$T_DIR/watch.err" || fail "sync --watch did not start: $(cat "$T_DIR/watch.err")"
same_as_store W.md
edit W.md 's = s.replace("- Tuning fan-out throughput.", "- Tuning fan-out throughput, edited in place.")'
wait_until 5 store_has 'Tuning fan-out throughput, edited in place.' || fail "a file edit did not reach the store in 5 s"
"$FT" note add -t sse 'Written on the command line' >/dev/null
wait_until 5 grep -qF 'Written on the command line' W.md || fail "a CLI write did not reach the file in 5 s"
cp W.md "$T_DIR/W.new"
edit "$T_DIR/W.new" 's = s.replace("Written on the command line", "Written on the command line, then renamed over")'
mv "$T_DIR/W.new" W.md
wait_until 5 store_has 'then renamed over' || fail "a file replaced by rename was not read in 5 s"
rm W.md
wait_until 5 grep -q 'was deleted: sync paused' "$T_DIR/watch.err" || fail "no word of the deleted file"
"$FT" note add -t sse 'Written while the file was gone' >/dev/null
sleep 1.5
[ ! -e W.md ] || fail "the deleted file was written again under --watch"
"$FT" show --format md sse >"$T_DIR/W.back"
edit "$T_DIR/W.back" 's = s.replace("Written while the file was gone", "Written while the file was gone, and back")'
mv "$T_DIR/W.back" W.md
wait_until 5 store_has 'and back' || fail "the file back after a deletion was not read"
kill -0 $wp 2>/dev/null || fail "sync --watch ended early: $(cat "$T_DIR/watch.err")"
kill -TERM $wp
for ((i = 0; i < 40; i++)); do
    kill -0 $wp 2>/dev/null || break
    sleep 0.05
done
kill -0 $wp 2>/dev/null && fail "sync --watch did not exit within 2 s of SIGTERM"
rc=0
wait $wp || rc=$?
equals "$rc" 0 "the exit status of sync --watch after SIGTERM"
same_as_store W.md

# ---- a killed sync never leaves a torn file -----------------------------------------------
python3 - "$T_DIR/big.md" <<'PY'
import sys
lines = ["# A large tracker", "", "## Progress Tracker", "", "### ⏳ Pending", ""]
lines += ["- Item %d: %s" % (i, "padding text to make the file large " * 3) for i in range(4000)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
"$FT" import --slug big "$T_DIR/big.md" >/dev/null 2>&1
expect_code 0 "$FT" sync -t big Big.md
cp Big.md "$T_DIR/old.md"
# Kills at random moments; where strace can trace, the loop after this one kills a sync at each
# of its writes, fsyncs and renames in turn, so fewer random ones are needed there.
old=0 new=0 n=50
strace -f -qq -o /dev/null true 2>/dev/null && n=20
remote_mode && n=20 # each kill costs a server round trip or two
pg_mode && n=10     # the file's writes do not depend on the store: the plain copy kills more
for ((i = 1; i <= n; i++)); do
    "$FT" item add -t big "Added before kill $i" >/dev/null
    "$FT" show --format md big >"$T_DIR/new.md"
    delay=$(python3 -c 'import random; print("%.3f" % random.uniform(0.002, 0.25))')
    timeout -s KILL "$delay" "$FT" sync -t big Big.md >/dev/null 2>&1 || true
    if cmp -s Big.md "$T_DIR/new.md"; then
        new=$((new + 1))
        cp Big.md "$T_DIR/old.md"
    elif cmp -s Big.md "$T_DIR/old.md"; then
        old=$((old + 1))
    else
        fail "after a kill at ${delay}s the file is neither the old nor the new rendering"
    fi
    "$FT" import --dry-run Big.md >/dev/null 2>&1 || fail "after a kill at ${delay}s the file does not parse"
done
echo "killed syncs: $old left the old file, $new the new one" >&2
# The same at every write, fsync and rename of a sync, in turn: strace kills it as it makes
# the Nth such call, for N = 1, 2, ... until a sync gets through all of them.
# (Not in remote mode: strace would trace the stand-in script and its helpers, and kill them at
# their writes instead of the sync's. Not over PostgreSQL: the writes counted would include the
# database connection's, and the file's writes are the same as with SQLite.)
if ! remote_mode && ! pg_mode && strace -f -qq -o /dev/null true 2>/dev/null; then
    for sc in write fsync rename,renameat,renameat2; do
        for ((k = 1; k <= 200; k++)); do
            "$FT" item add -t big "Added before a kill at $sc $k" >/dev/null
            "$FT" show --format md big >"$T_DIR/new.md"
            rc=0
            # (LeakSanitizer cannot run under a tracer: the other syncs here check for leaks)
            ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
                strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$k" \
                "$FT" sync -t big Big.md >/dev/null 2>&1 || rc=$?
            if cmp -s Big.md "$T_DIR/new.md"; then
                cp Big.md "$T_DIR/old.md"
            elif ! cmp -s Big.md "$T_DIR/old.md"; then
                fail "killed at $sc call $k, the file is neither the old nor the new rendering"
            fi
            [ "$rc" = 0 ] && break
        done
        [ "$rc" = 0 ] || fail "a sync never got past the kills at $sc"
    done
else
    echo "strace cannot trace here (or remote mode): the kills at each write are left out" >&2
fi
touch ".Big.md.ft-sync-999999.tmp"
expect_code 0 "$FT" sync -t big Big.md
"$FT" show --format md big | cmp -s - Big.md || fail "the sync after the kills did not write the file"
no_temps
t_done
