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
listen=${DEMO_LISTEN:-127.0.0.1:7464}
start_server() {
    rm -f url
    "$bin" serve --listen "$1" --ready-file url 2>>server.log &
    pid=$!
    for _ in $(seq 1 100); do
        [ -s url ] && return 0
        kill -0 $pid 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
pid=
trap '[ -n "$pid" ] && kill -TERM $pid 2>/dev/null; wait 2>/dev/null; exit 0' EXIT INT TERM
if ! start_server "$listen"; then
    echo "($listen is taken: using a free port)"
    start_server 127.0.0.1:0 || { cat server.log >&2; exit 1; }
fi
url=$(cat url)
cat <<EOT
The server is running on the demo store: $url   (server log: $PWD/server.log)

Open the dashboard in a browser: $url/
and watch it change as you change the tracker from a shell (below).

Follow the live stream in one shell:
  curl -N $url/api/trackers/sse/events
and change the tracker from another; each change arrives on the stream at once:
  export FLOWTRACK_DB=$FLOWTRACK_DB
  $bin item start 4
  $bin result add --outcome pass 'Rerun the abort loop'
  curl -s -X POST -H 'Content-Type: application/json' -d '{"text":"From the API"}' $url/api/trackers/sse/items

Also:
  curl $url/api/trackers/sse                  # the tracker as JSON (.md: Markdown)
  curl $url/metrics                           # Prometheus metrics
  $bin --server $url item add 'Through the server'   # any command, on the server's store
  $bin check                # the ground rules a machine can check
  $bin run --timeout 5 -- sleep 10   # a hang, recorded in the results log

Ctrl-C stops the server.
EOT
wait $pid
