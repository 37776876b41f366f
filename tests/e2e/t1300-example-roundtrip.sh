#!/usr/bin/env bash
# The project's own example tracker (examples/sse-stream-release.txt): its Markdown
# rendering imports back to the same tracker, text and JSON content alike. The shared
# model tracker is checked by t1310.
. "$(dirname "$0")/lib.sh"

own="$FT_SOURCE_DIR/examples/sse-stream-release.txt"
"$FT" init >/dev/null
md_roundtrip "$own"
t_done
