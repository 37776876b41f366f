#!/usr/bin/env bash
# The CLI's main paths under valgrind: no leaks, no invalid reads or writes.
# Skipped in the sanitizer build (ASan and valgrind do not mix).
. "$(dirname "$0")/lib.sh"

if is_asan; then
    skip "valgrind cannot run the sanitizer build"
fi
command -v valgrind >/dev/null || fail "valgrind is not installed"
vg() {
    valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 "$FT" "$@"
}
expect_code 0 vg init
expect_code 0 vg import --slug ex "$FT_SOURCE_DIR/examples/sse-stream-release.txt"
expect_code 0 vg show --format md
expect_code 0 vg --json show
expect_code 0 vg item add 'under valgrind'
expect_code 0 vg item done 1
expect_code 0 vg hyp verdict 3 confirmed --evidence 'seen'
expect_code 0 vg result add --outcome fail 'again'
expect_code 0 vg rule move 1 3
expect_code 0 vg rule rm 2
expect_code 0 vg edit --owner 'Someone else'
expect_code 0 vg history --json
expect_code 1 vg check --doing-max 1s
expect_code 0 vg list
expect_code 3 vg item done 99
expect_code 2 vg item frob
printf 'T\n\nStarted: YYYY-MM-DD\n\nWorkflow\n' >"$T_DIR/bad.txt"
expect_code 1 vg import --exact "$T_DIR/bad.txt"
"$FT" show --format md >"$T_DIR/ex.md"
expect_code 0 vg import --slug md "$T_DIR/ex.md"
# the tolerant reader (front matter, tables, code blocks, nested lists, warnings) and JSON
for f in yaml-front-matter.md results-table.md code-blocks.md nested-lists.md german.txt; do
    expect_code 0 vg import --tolerant --dry-run "$FT_SOURCE_DIR/tests/data/tolerant/$f"
done
expect_code 1 vg import --strict "$FT_SOURCE_DIR/tests/data/tolerant/extra-sections.md"
"$FT" show --json md >"$T_DIR/md.json"
expect_code 0 vg import --slug from-json "$T_DIR/md.json"
# a whole store copied, then refused (not empty) and failed (no directory)
expect_code 0 vg copy "$T_DB" "$T_DIR/copy.db"
expect_code 1 vg copy "$T_DB" "$T_DIR/copy.db"
expect_code 3 vg copy "$T_DB" "$T_DIR/none/copy.db"
t_done
