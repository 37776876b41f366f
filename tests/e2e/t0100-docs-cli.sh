#!/usr/bin/env bash
# docs/cli.md is exactly what the built binary's --help pages say.
. "$(dirname "$0")/lib.sh"

bash "$FT_SOURCE_DIR/scripts/gen-cli-doc.sh" "$FT" "$T_DIR/cli.md"
if ! cmp -s "$T_DIR/cli.md" "$FT_SOURCE_DIR/docs/cli.md"; then
    diff -u "$FT_SOURCE_DIR/docs/cli.md" "$T_DIR/cli.md" | head -40 >&2
    fail "docs/cli.md is stale: run scripts/gen-cli-doc.sh build/flowtrack"
fi
t_done
