#!/usr/bin/env bash
# bench/mcp: MCP tools/call round trips, timed by the official TypeScript SDK client
# (bench/mcp/harness.mjs), flowtrack over stdio and over Streamable HTTP, side by side in the
# same run with Backlog.md's MCP server (npm backlog.md, its prebuilt binary, stdio) on the same
# amount of work: a tracker of 1 000 items against a backlog of 1 000 tasks.
#   create: entry_add (an item)           vs  task_create
#   view:   tracker_read (compact view)   vs  task_view (one task)
# Also the size of each server's tools/list answer. Prints medians and p99 per call, and the
# Backlog.md / flowtrack ratio of the medians.
#
#   bench/mcp/run.sh
#   N=500 BACKLOG_N=50 bench/mcp/run.sh
#   FLOWTRACK=/path/to/flowtrack bench/mcp/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/bench/mcp
N=${N:-300}               # timed calls per flowtrack step
BACKLOG_N=${BACKLOG_N:-40} # timed calls per Backlog.md step
SIZE=${SIZE:-1000}

command -v node >/dev/null || { echo "bench/mcp: node is missing" >&2; exit 1; }
bash "$root/scripts/npm-deps.sh" "$here" # the SDK and backlog.md, from the lockfile
if [ -n "${FLOWTRACK:-}" ]; then
    FT=$FLOWTRACK
else
    cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    ninja -C "$root/build-release" >/dev/null
    FT="$root/build-release/flowtrack"
fi
BACKLOG=$here/node_modules/backlog.md-linux-x64/backlog # the binary npm backlog.md runs on Linux x64
work=$(mktemp -d "${TMPDIR:-/tmp}/ft-bench-mcp.XXXXXX")
srv_pid=
cleanup() {
    if [ -n "$srv_pid" ]; then
        kill -TERM "$srv_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$srv_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
echo "flowtrack $("$FT" --version | cut -d' ' -f2), Backlog.md $("$BACKLOG" --version), node $(node --version), @modelcontextprotocol/sdk $(node -p "require('$here/node_modules/@modelcontextprotocol/sdk/package.json').version")"
echo "work: $SIZE items / tasks; $N timed calls per flowtrack step, $BACKLOG_N per Backlog.md step (after a warm-up of a tenth)"
echo

# flowtrack: a tracker of SIZE pending items
db=$work/ft.db
python3 "$root/bench/lib/tracker.py" "$SIZE" >"$work/tracker.txt"
"$FT" --db "$db" import --slug bench "$work/tracker.txt" >/dev/null
# Backlog.md: a project of SIZE tasks, written as its task files
mkdir -p "$work/bl"
(cd "$work/bl" && git init -q . && "$BACKLOG" init bench --defaults >/dev/null 2>&1)
(cd "$work/bl" && "$BACKLOG" config set remoteOperations false >/dev/null 2>&1 || true)
python3 - "$work/bl/backlog/tasks" "$SIZE" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(1, n + 1):
    with open(os.path.join(d, f"task-{i} - Pending-task-number-{i}.md"), "w") as f:
        f.write(f"---\nid: TASK-{i}\ntitle: Pending task number {i} with some words in it\n"
                f"status: To Do\nassignee: []\ncreated_date: '2026-11-25 00:00'\nlabels: []\n"
                f"dependencies: []\nordinal: {i * 1000}\n---\n\n## Description\n\n"
                f"<!-- SECTION:DESCRIPTION:BEGIN -->\nTask {i}.\n<!-- SECTION:DESCRIPTION:END -->\n")
PY

out=$work/results.jsonl
node "$here/harness.mjs" "flowtrack stdio" stdio "$work" "$FT" --db "$db" --tracker bench mcp -- \
    list "entry_add:$N:{\"kind\":\"item\",\"text\":\"bench item {i}\"}" "tracker_read:$N:{}" >>"$out"
"$FT" --db "$db" serve --listen 127.0.0.1:0 --ready-file "$work/url" 2>"$work/serve.log" &
srv_pid=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
node "$here/harness.mjs" "flowtrack http" http "$(cat "$work/url")/mcp" -- \
    "entry_add:$N:{\"tracker\":\"bench\",\"kind\":\"item\",\"text\":\"bench item {i}\"}" \
    "tracker_read:$N:{\"tracker\":\"bench\"}" >>"$out"
node "$here/harness.mjs" "Backlog.md stdio" stdio "$work/bl" "$BACKLOG" mcp start -- \
    list "task_create:$BACKLOG_N:{\"title\":\"bench task {i}\"}" \
    "task_view:$BACKLOG_N:{\"id\":\"TASK-$((SIZE / 2))\"}" >>"$out"

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
calls = {(r["label"], r["step"]): r for r in rows if "median_ms" in r}
lists = [r for r in rows if r["step"] == "tools/list"]
print("%-18s %-14s %10s %10s" % ("server", "call", "median ms", "p99 ms"))
for r in rows:
    if "median_ms" in r:
        print("%-18s %-14s %10.3f %10.3f" % (r["label"], r["step"], r["median_ms"], r["p99_ms"]))
print()
for op, ft, bl in (("create", "entry_add", "task_create"), ("view", "tracker_read", "task_view")):
    b = calls[("Backlog.md stdio", bl)]["median_ms"]
    for t in ("flowtrack stdio", "flowtrack http"):
        f = calls[(t, ft)]["median_ms"]
        print("%-7s Backlog.md / %-16s %7.0fx  (%.1f ms / %.3f ms)" % (op, t, b / f, b, f))
print()
for r in lists:
    print("tools/list %-18s %2d tools %6d bytes" % (r["label"], r["tools"], r["bytes"]))
PY
