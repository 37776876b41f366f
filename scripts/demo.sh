#!/usr/bin/env bash
# make demo: a fresh demo store with the project's example tracker imported,
# shown once, then the server started on it (when this build has one).
set -euo pipefail
bin=$(realpath "$1")
dir=${2:-demo}
root=$(cd "$(dirname "$0")/.." && pwd)

rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
export FLOWTRACK_DB="$PWD/flowtrack.db" FLOWTRACK_ACTOR=demo
"$bin" init >/dev/null
"$bin" import --slug sse "$root/examples/sse-stream-release.txt"
"$bin" use sse >/dev/null
echo
"$bin" show
echo
cat <<EOT
Demo store: $FLOWTRACK_DB
Try next (in another shell):
  export FLOWTRACK_DB=$FLOWTRACK_DB
  $bin item start 4                # move an item to In Progress
  $bin result add --outcome pass 'Rerun the abort loop'
  $bin check                       # the ground rules a machine can check
  $bin history                     # every change, who and when
  $bin show --format md            # the same tracker as Markdown
EOT
