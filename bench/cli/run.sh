#!/usr/bin/env bash
# bench/cli: whole-process time of `flowtrack` adding an item, marking one
# done and showing the tracker at 0, 1 000 and 10 000 items, side by side with
# taskwarrior (`task add`, `task N done`, `task list`) at the same sizes, in
# one hyperfine run per size. Prints medians and the taskwarrior/flowtrack ratio.
# Then `flowtrack import` of a hand-written style Markdown tracker of IMPORT_ITEMS (10 000)
# GFM checkbox items (the tolerant reader: the exact one refuses it first), into a new store.
# The same `item add` through a `flowtrack serve` on loopback (--server) is timed in the
# same hyperfine run, beside the local one.
#
#   bench/cli/run.sh                 # sizes 0 1000 10000
#   SIZES="0 1000" RUNS=10 bench/cli/run.sh
#   FLOWTRACK=/path/to/flowtrack bench/cli/run.sh   # a given binary instead of building one
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
SIZES=${SIZES:-"0 1000 10000"}
RUNS=${RUNS:-30}
TASK_RUNS=${TASK_RUNS:-10}
IMPORT_ITEMS=${IMPORT_ITEMS:-10000}

for tool in hyperfine task python3; do
    command -v $tool >/dev/null || { echo "bench/cli: '$tool' is missing (run scripts/install-deps.sh --bench)" >&2; exit 1; }
done
if [ -n "${FLOWTRACK:-}" ]; then
    FT=$FLOWTRACK
else
    cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    ninja -C "$root/build-release" >/dev/null
    FT="$root/build-release/flowtrack"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ft-bench-cli.XXXXXX")
srv_pid=
stop_server() {
    [ -n "$srv_pid" ] || return 0
    kill -TERM "$srv_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$srv_pid" 2>/dev/null || true
    wait "$srv_pid" 2>/dev/null || true
    srv_pid=
}
trap 'stop_server; rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
echo "flowtrack $("$FT" --version | cut -d' ' -f2), $(task --version | head -1 | sed 's/^/taskwarrior /'), $(hyperfine --version)"
echo "store: SQLite WAL, synchronous=FULL (every write durable) on $(df -T "$work" | awk 'NR==2{print $2}')"
echo

results="$work/results.tsv"
: >"$results"
for n in $SIZES; do
    d="$work/n$n"
    mkdir -p "$d/task"
    export FLOWTRACK_DB="$d/ft.db" FLOWTRACK_ACTOR=bench
    # flowtrack: a tracker with n pending items, made by importing a generated file
    python3 "$root/bench/lib/tracker.py" "$n" >"$d/tracker.txt"
    "$FT" import --slug bench "$d/tracker.txt" >/dev/null
    "$FT" item add 'the item that is marked done' >/dev/null
    done_num=$((n + 1))
    # taskwarrior: the same number of pending tasks, loaded with `task import`
    cat >"$d/taskrc" <<EOT
data.location=$d/task
confirmation=off
verbose=nothing
gc=off
hooks=off
recurrence=off
EOT
    export TASKRC="$d/taskrc"
    python3 - "$n" >"$d/tasks.json" <<'PY'
import json, sys, uuid
n = int(sys.argv[1])
print(json.dumps([{"uuid": str(uuid.UUID(int=i + 1)), "description": f"Pending item number {i + 1} with some words in it",
                   "status": "pending", "entry": "20261125T000000Z"} for i in range(n)]))
PY
    [ "$n" -gt 0 ] && task import "$d/tasks.json" >/dev/null 2>&1
    task add 'the item that is marked done' >/dev/null
    tnum=$(task count status:pending)

    # the same store served on loopback, for `item add` through the server
    rm -f "$d/url"
    "$FT" --db "$d/ft.db" serve --listen 127.0.0.1:0 --ready-file "$d/url" 2>"$d/serve.log" &
    srv_pid=$!
    for _ in $(seq 100); do [ -s "$d/url" ] && break; sleep 0.05; done
    url=$(cat "$d/url")

    hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$d/ft.json" \
        -n "flowtrack add" "$FT item add 'a new item'" \
        -n "flowtrack add (server)" "$FT --server $url item add 'a new item'" \
        --prepare "$FT item reopen $done_num" -n "flowtrack done" "$FT item done $done_num" \
        -n "flowtrack show" "$FT show" >/dev/null
    stop_server
    hyperfine -N --style basic --warmup 1 --runs "$TASK_RUNS" --export-json "$d/task.json" \
        -n "task add" "task add 'a new item'" \
        --prepare "task $tnum modify status:pending" -n "task done" "task $tnum done" \
        -n "task list" "task list" >/dev/null
    python3 - "$n" "$d/ft.json" "$d/task.json" >>"$results" <<'PY'
import json, sys
n = sys.argv[1]
ft = {r["command"]: r for r in json.load(open(sys.argv[2]))["results"]}
tk = {r["command"]: r for r in json.load(open(sys.argv[3]))["results"]}
for op, tkop in (("add", "add"), ("add (server)", "add"), ("done", "done"), ("show", "list")):
    f = ft["flowtrack " + op]
    t = tk["task " + tkop]
    fm, tm = f["median"] * 1000, t["median"] * 1000
    print(f"{n}\t{op}\t{fm:.2f}\t{f['min']*1000:.2f}\t{f['max']*1000:.2f}\t{tm:.1f}\t{tm / fm:.0f}")
PY
done

# import: a hand-written tracker (front matter, ### Done / Doing / Todo, checkboxes, emoji)
d="$work/import"
mkdir -p "$d"
python3 - "$IMPORT_ITEMS" >"$d/tracker.md" <<'PY'
import sys
n = int(sys.argv[1])
out = ["---", "title: Bench import", "owner: bench", "started: 2026-11-25", "---", "",
       "## Context", "", "A generated tracker in the style people write by hand.", ""]
groups = [("### Done", "- [x] "), ("### Doing", "- \U0001f504 "), ("### Todo", "- [ ] "),
          ("### Won't do", "- ")]
per = n // len(groups)
for g, (head, mark) in enumerate(groups):
    out += [head, ""]
    for i in range(per if g < len(groups) - 1 else n - per * (len(groups) - 1)):
        out.append(f"{mark}Item {g * per + i + 1}: check the `worker` pool after *deploy* #{i}")
    out.append("")
print("\n".join(out))
PY
export FLOWTRACK_DB="$d/ft.db"
"$FT" import --strict "$d/tracker.md" >/dev/null # the reader takes all of it, no warnings
rm -f "$d/ft.db"* && "$FT" init >/dev/null
hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$d/import.json" \
    --prepare "rm -f $d/ft.db $d/ft.db-wal $d/ft.db-shm" \
    -n "flowtrack import" "$FT import --slug bench $d/tracker.md" \
    -n "flowtrack import --dry-run" "$FT import --dry-run $d/tracker.md" >/dev/null
import_line=$(python3 - "$d/import.json" "$IMPORT_ITEMS" "$(wc -c <"$d/tracker.md")" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
f, p = r["flowtrack import"], r["flowtrack import --dry-run"]
print(f"import of {sys.argv[2]} Markdown items ({int(sys.argv[3]) // 1024} KiB): "
      f"{f['median'] * 1000:.1f} ms median ({f['min'] * 1000:.1f}-{f['max'] * 1000:.1f}) into a new store; "
      f"{p['median'] * 1000:.1f} ms reading and rendering only (--dry-run)")
PY
)

printf '%-7s %-12s %12s %19s %14s %8s\n' items op "flowtrack ms" "(min-max)" "taskwarrior ms" ratio
while IFS=$'\t' read -r n op fm fmin fmax tm ratio; do
    printf '%-7s %-12s %12s %19s %14s %7sx\n' "$n" "$op" "$fm" "($fmin-$fmax)" "$tm" "$ratio"
done <"$results"
echo
echo "medians of whole-process wall time; ratio = taskwarrior median / flowtrack median"
echo "(flowtrack show = the default view of the whole tracker; task list = taskwarrior's report;"
echo " add (server) = the same item add as flowtrack --server URL through flowtrack serve on loopback)"
echo
echo "$import_line"
