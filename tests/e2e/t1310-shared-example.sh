#!/usr/bin/env bash
# The shared model tracker (examples/streaming-endpoint-stability.txt of the shared
# directory, FT_SHARED_DIR) imports and renders back byte for byte (a final newline
# aside), with the expected counts; its Markdown rendering imports back to the same
# tracker, text and JSON content alike. Skipped (77) when the file is absent.
. "$(dirname "$0")/lib.sh"

example="${FT_SHARED_DIR:-$FT_SOURCE_DIR/../shared}/examples/streaming-endpoint-stability.txt"
[ -f "$example" ] || skip "$example not found: the shared example is not checked"
"$FT" init >/dev/null
expect_code 0 "$FT" import "$example"
slug=$(echo "$OUT" | awk '{print $3}')
"$FT" show --format text "$slug" >"$T_DIR/out.txt"
{ cat "$example"; [ -n "$(tail -c 1 "$example")" ] && echo; } >"$T_DIR/want.txt"
cmp "$T_DIR/want.txt" "$T_DIR/out.txt" || fail "text rendering differs from the example"
"$FT" show --json "$slug" >"$T_DIR/t.json"
equals "$(json 'len(d["rules"]), len(d["steps"]), d["progress"]["done"], d["progress"]["doing"], d["progress"]["pending"], d["progress"]["dropped"]' <"$T_DIR/t.json")" "5 6 2 1 2 2"
equals "$(json 'd["org"], d["started"]' <"$T_DIR/t.json")" "flowCreate.solutions None"

# the Markdown round trip
md_roundtrip "$example"
t_done
