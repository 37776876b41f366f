#!/usr/bin/env bash
# The project's own example tracker (examples/sse-stream-release.txt): its Markdown
# rendering imports back to the same tracker, text and JSON content alike. The shared
# model tracker is checked by t1310.
. "$(dirname "$0")/lib.sh"

own="$FT_SOURCE_DIR/examples/sse-stream-release.txt"
"$FT" init >/dev/null
"$FT" import --slug a "$own" >/dev/null
"$FT" show --format md a >"$T_DIR/a.md"
"$FT" import --slug b "$T_DIR/a.md" >/dev/null
"$FT" show --format text a >"$T_DIR/a.txt"
"$FT" show --format text b >"$T_DIR/b.txt"
cmp "$T_DIR/a.txt" "$T_DIR/b.txt" || fail "$own: Markdown round trip differs"
for x in a b; do
    "$FT" show --json $x | python3 -c '
import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(w) for k, w in v.items() if k not in ("id", "slug", "at") and not k.endswith("_at")}
    if isinstance(v, list):
        return [strip(w) for w in v]
    return v
print(json.dumps(strip(json.load(sys.stdin)), sort_keys=True))' >"$T_DIR/$x.j"
done
cmp "$T_DIR/a.j" "$T_DIR/b.j" || fail "$own: JSON content differs after the Markdown round trip"
"$FT" delete a >/dev/null
"$FT" delete b >/dev/null
t_done
