#!/usr/bin/env bash
# Runner benchmark: the whole-process overhead of `flowtrack run` against coreutils
# timeout(1), in one hyperfine invocation (medians and ratios), and the time to snapshot
# a hung session of 51 processes (no stacks), as the runner reports it (snapshot_ms), and a
# Python deadlock with Python stacks (snapshot plus stacks).
#
#   bench/runner/run.sh            # builds build-release/ first
#   RUNS=500 bench/runner/run.sh
#
# Needs: hyperfine, python3 (scripts/install-deps.sh --bench).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build-release}
runs=${RUNS:-300}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
ninja -C "$build" >/dev/null
FT=$build/flowtrack

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export FLOWTRACK_DB=$tmp/bench.db
unset FLOWTRACK_TRACKER
"$FT" create --slug bench 'Runner benchmark' >/dev/null

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r)"
echo "flowtrack: $("$FT" --version), $build"
echo

hyperfine -N --warmup 20 --runs "$runs" --export-json "$tmp/overhead.json" \
    -n 'timeout 10 true' 'timeout 10 true' \
    -n 'flowtrack run --no-record -- true' "$FT run --no-record -- true" \
    -n 'flowtrack run -- true (recorded)' "$FT run -- true"

python3 - "$tmp/overhead.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[0]["median"]
print()
print("%-36s %10s %12s %8s" % ("command", "median", "over timeout", "ratio"))
for x in r:
    m = x["median"]
    print("%-36s %8.2f ms %9.2f ms %7.2fx" % (x["command"], m * 1e3, (m - base) * 1e3, m / base))
PY

echo
echo "snapshot of a hung session of 51 processes (sh + 50 sleepers), no stacks, 10 runs:"
for i in $(seq 10); do
    "$FT" run --no-record --no-stacks --json --timeout 0.5 --grace 1 -- \
        sh -c 'for i in $(seq 50); do sleep 60 & done; wait' 2>/dev/null >"$tmp/snap$i.json" || true
done
python3 - "$tmp"/snap*.json <<'PY'
import json, statistics, sys
ms, n = [], set()
for f in sys.argv[1:]:
    d = json.load(open(f))["diagnosis"]
    ms.append(d["snapshot_ms"])
    n.add(len(d["processes"]))
print("processes in the snapshot: %s; snapshot_ms median %d, min %d, max %d"
      % (sorted(n), statistics.median(ms), min(ms), max(ms)))
PY

# Python stacks: a lock-order inversion of two Python threads (tests/helpers/sc_py_deadlock.py)
# under Debian's python3 with python3.11-dbg; the snapshot plus native and Python stacks, as
# the diagnosis reports them (snapshot_ms, stacks.ms, stacks.python_ms). Goal: under 2 s.
if [ -x /usr/bin/python3 ] && command -v gdb >/dev/null; then
    echo
    echo "snapshot with Python stacks (sc_py_deadlock.py: 3 threads), 10 runs:"
    for i in $(seq 10); do
        "$FT" run --no-record --json --timeout 1 --grace 1 -- \
            /usr/bin/python3 "$root/tests/helpers/sc_py_deadlock.py" 2>/dev/null >"$tmp/py$i.json" || true
    done
    python3 - "$tmp"/py*.json <<'PY'
import json, statistics, sys
rows = []
for f in sys.argv[1:]:
    d = json.load(open(f))["diagnosis"]
    st = d.get("stacks", {})
    have = all(t.get("py_stack") for p in d["processes"] if p.get("python") for t in p["threads"])
    rows.append((d["snapshot_ms"] + st.get("ms", 0), st.get("python_ms", 0), have, st.get("python_error", "")))
tot = [r[0] for r in rows]
py = [r[1] for r in rows]
print("snapshot + stacks ms: median %d, min %d, max %d; of which Python: median %d, min %d, max %d"
      % (statistics.median(tot), min(tot), max(tot), statistics.median(py), min(py), max(py)))
print("runs with every Python thread's stack: %d of %d%s" % (sum(r[2] for r in rows), len(rows),
      "".join("; " + r[3] for r in rows if r[3])[:300]))
PY
fi
