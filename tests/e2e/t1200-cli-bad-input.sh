#!/usr/bin/env bash
# Bad input as a new user would try it: a clear message, a non-zero exit, and
# the store exactly as it was.
. "$(dirname "$0")/lib.sh"

expect_code 3 "$FT" show
contains "$ERR" "no store at"
"$FT" init >/dev/null
"$FT" import --slug ex "$FT_SOURCE_DIR/examples/sse-stream-release.txt" >/dev/null

snapshot() {
    "$FT" --json show ex >"$T_DIR/snap.json"
    "$FT" history --all --json >>"$T_DIR/snap.json"
    "$FT" list --json >>"$T_DIR/snap.json"
    md5sum <"$T_DIR/snap.json"
}
before=$(snapshot)

expect_code 2 "$FT" frobnicate
contains "$ERR" "'frobnicate' is not a flowtrack command"
expect_code 2 "$FT" --bogus list
contains "$ERR" "unknown option '--bogus'"
expect_code 2 "$FT" item done
contains "$ERR" "missing the item's number"
expect_code 2 "$FT" item done abc
contains "$ERR" "'abc' is not a item number"
expect_code 3 "$FT" item done 999
contains "$ERR" "no item 999"
expect_code 3 "$FT" -t nope show
contains "$ERR" "no tracker 'nope'"
expect_code 2 "$FT" item add
contains "$ERR" "missing the text"
expect_code 2 "$FT" item frob 1
contains "$ERR" "unknown action 'frob'"
expect_code 2 "$FT" show --format pdf
contains "$ERR" "format must be view, text, md, json or compact"
expect_code 2 "$FT" repro --timeout soon
contains "$ERR" "not a duration"
expect_code 1 "$FT" result add --outcome maybe 'x'
contains "$ERR" "outcome"
expect_code 1 "$FT" result add --date 2026-02-31 'x'
contains "$ERR" "not a date"
expect_code 1 "$FT" edit --started yesterday
contains "$ERR" "not a date"
expect_code 1 "$FT" step add --title 'a: b' 'text'
contains "$ERR" "title may not contain"
expect_code 1 "$FT" create --slug ex 'Duplicate'
contains "$ERR" "already exists"
expect_code 2 "$FT" delete
contains "$ERR" "nothing is deleted by default"

# files that cannot be imported
expect_code 3 "$FT" import "$T_DIR/missing.txt"
contains "$ERR" "cannot open"
head -c 900 "$FT_SOURCE_DIR/examples/sse-stream-release.txt" >"$T_DIR/truncated.txt"
expect_code 1 "$FT" import --exact "$T_DIR/truncated.txt"
contains "$ERR" "unexpected end of input"
contains "$ERR" "line "
# without --exact the tolerant reader takes what is there (a preview here: nothing stored)
expect_code 0 "$FT" import --dry-run "$T_DIR/truncated.txt"
head -c 4096 /bin/sh >"$T_DIR/binary.bin"
expect_code 1 "$FT" import "$T_DIR/binary.bin"
contains "$ERR" "is this a binary file?"
printf 'T\n\nStarted: YYYY-MM-DD\nOwner: a\rb\n' >"$T_DIR/cr.txt"
expect_code 1 "$FT" import "$T_DIR/cr.txt"
contains "$ERR" "line 4: control character 0x0d"
expect_code 1 "$FT" item add "$(printf 'bell\a')"
contains "$ERR" "control character 0x07"
{ printf 'Title\n\nStarted: YYYY-MM-DD\nObjective: '; head -c 10000000 /dev/zero | tr '\0' x; printf '\n'; } >"$T_DIR/longline.txt"
expect_code 1 "$FT" import "$T_DIR/longline.txt"
contains "$ERR" "line 4: line is 10000011 bytes"
: >"$T_DIR/empty.txt"
expect_code 1 "$FT" import "$T_DIR/empty.txt"
contains "$ERR" "empty"
expect_code 1 "$FT" import "$T_DIR"
contains "$ERR" "is a directory"
printf '# Title\n\n## Ground Rules for Agents\n\n```\ncode\n```\n' >"$T_DIR/bad.md"
expect_code 1 "$FT" import --exact "$T_DIR/bad.md"
contains "$ERR" "line 6: only headings, paragraphs and lists"

after=$(snapshot)
equals "$after" "$before" "store after bad input"
t_done
