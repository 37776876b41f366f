#!/usr/bin/env bash
# bench/ab: an old build of flowtrack against a new one, paired in the same run, on what the
# other benchmarks measure: `item add`, `item done` and `show` at 10 000 items (hyperfine, both
# binaries in one invocation), GET of a tracker (wrk) and SSE fan-out (bench/sse's harness),
# each server measured in turn, old then new, round after round, so that both see the same
# share of the machine's noise. Prints medians and new/old ratios with the machine noted.
#
#   bench/ab/run.sh REV                 # REV (a commit) built here against the working tree
#   OLD=/path/a NEW=/path/b bench/ab/run.sh
#   ROUNDS=3 RUNS=30 ITEMS=10000 STREAMS=5000 WRK_DURATION=10s bench/ab/run.sh REV
set -euo pipefail
# shellcheck source=bench/lib/servers.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/servers.sh"

bash "$BENCH_ROOT/scripts/install-deps.sh" --bench
bench_init
rounds=${ROUNDS:-3}
runs=${RUNS:-30}
items=${ITEMS:-10000}
streams=${STREAMS:-5000}
duration=${WRK_DURATION:-10s}

# Release binaries: NEW from the working tree, OLD from a commit built in a temporary worktree.
NEW=${NEW:-$(bench_build_flowtrack)}
if [ -z "${OLD:-}" ]; then
    rev=${1:?usage: bench/ab/run.sh REV (or OLD=... NEW=...)}
    git -C "$BENCH_ROOT" worktree add --detach "$BENCH_TMP/old-src" "$rev" >/dev/null 2>&1
    (cd "$BENCH_TMP/old-src" && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_TESTING=OFF -DFT_WERROR=OFF >/dev/null && ninja -C build >/dev/null)
    OLD=$BENCH_TMP/flowtrack-old
    cp "$BENCH_TMP/old-src/build/flowtrack" "$OLD"
    git -C "$BENCH_ROOT" worktree remove --force "$BENCH_TMP/old-src"
    old_name=$rev
else
    old_name=$OLD
fi
SSELOAD=$(bench_build_sseload)
ulimit -n "$(ulimit -Hn)"

bench_machine
echo "old: $old_name; new: $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo "$NEW")"
echo "$rounds rounds, old then new in each; $(hyperfine --version), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
echo

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.3f", b / a; else print "-" }'; }

# A tracker of $items pending items in each binary's own store.
python3 "$BENCH_ROOT/bench/lib/tracker.py" "$items" >"$BENCH_TMP/tracker.txt"
for v in old new; do
    bin=$OLD
    [ $v = new ] && bin=$NEW
    mkdir -p "$BENCH_TMP/$v"
    "$bin" --db "$BENCH_TMP/$v/ft.db" import --slug bench "$BENCH_TMP/tracker.txt" >/dev/null
    "$bin" --db "$BENCH_TMP/$v/ft.db" item add 'the item that is marked done' >/dev/null
done
done_num=$((items + 1))

# ---- the command line ------------------------------------------------------------------
declare -A cli
for r in $(seq "$rounds"); do
    args=()
    for op in add done show; do
        for v in old new; do
            bin=$OLD
            [ $v = new ] && bin=$NEW
            db=$BENCH_TMP/$v/ft.db
            # hyperfine takes one --prepare per command or none: `true` where none is needed
            case $op in
            add) args+=(--prepare true -n "$v $op" "$bin --db $db item add 'a new item'") ;;
            done) args+=(--prepare "$bin --db $db item reopen $done_num" -n "$v $op"
                "$bin --db $db item done $done_num") ;;
            show) args+=(--prepare true -n "$v $op" "$bin --db $db show") ;;
            esac
        done
    done
    hyperfine -N --style none --warmup 3 --runs "$runs" --export-json "$BENCH_TMP/cli-$r.json" \
        "${args[@]}" >/dev/null
    while read -r name ms; do
        cli[$name]+="$ms "
    done < <(python3 -c 'import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"].replace(" ", "_"), "%.3f" % (r["median"] * 1000))' "$BENCH_TMP/cli-$r.json")
done
printf '%-28s %10s %10s %10s\n' "CLI at $items items (ms)" old new new/old
for op in add done show; do
    # shellcheck disable=SC2086
    o=$(median ${cli[old_$op]}) n=$(median ${cli[new_$op]})
    printf '%-28s %10s %10s %10s\n' "$op" "$o" "$n" "$(ratio "$o" "$n")"
done
echo

# ---- GET of a tracker ------------------------------------------------------------------
# the document bench/http serves: 12 items, 4 rules, 6 results (about 8 KB of JSON)
for v in old new; do
    bin=$OLD
    [ $v = new ] && bin=$NEW
    db=$BENCH_TMP/get-$v/ft.db
    mkdir -p "$(dirname "$db")"
    "$bin" --db "$db" create --slug bench 'Bench tracker' >/dev/null
    for i in $(seq 12); do
        "$bin" --db "$db" item add "Progress item $i: measure, change one thing, measure again" >/dev/null
    done
    for i in $(seq 4); do
        "$bin" --db "$db" rule add "Ground rule $i: every figure comes from a script anyone can run" >/dev/null
    done
    for i in $(seq 6); do
        "$bin" --db "$db" result add --outcome pass --notes "notes for attempt $i" "Attempt $i at the benchmark" >/dev/null
    done
done
declare -A rps
for r in $(seq "$rounds"); do
    for v in old new; do
        bin=$OLD
        [ $v = new ] && bin=$NEW
        flowtrack_start "get-$v-$r" "$bin" "$BENCH_TMP/get-$v/ft.db"
        curl -s -o /dev/null "$FT_URL/api/trackers/bench" # the render cache warm, as in bench/http
        out=$BENCH_TMP/wrk-$v-$r.txt
        wrk -t1 -c50 -d"$duration" "$FT_URL/api/trackers/bench" >"$out" 2>&1 || true
        rps[$v]+="$(awk '/^Requests\/sec:/ { print $2 }' "$out") "
        bench_stop "$FT_PID"
    done
done
# shellcheck disable=SC2086
o=$(median ${rps[old]}) n=$(median ${rps[new]})
printf '%-28s %10s %10s %10s\n' "GET /api/trackers/ID (req/s)" "$o" "$n" "$(ratio "$o" "$n")"

# ---- SSE fan-out -----------------------------------------------------------------------
declare -A dps
burst=$((500000 / streams))
[ "$burst" -lt 20 ] && burst=20
for r in $(seq "$rounds"); do
    for v in old new; do
        bin=$OLD
        [ $v = new ] && bin=$NEW
        db=$BENCH_TMP/sse-$v-$r/ft.db
        mkdir -p "$(dirname "$db")"
        "$bin" --db "$db" create --slug bench 'Bench tracker' >/dev/null
        flowtrack_start "sse-$v-$r" "$bin" "$db" --max-streams $((streams + 1000))
        out=$BENCH_TMP/sse-$v-$r.txt
        "$SSELOAD" -n "$streams" --paced 0 --burst "$burst" --aborts 0 --timeout 60 \
            --url "$FT_URL/api/trackers/bench/events" --pub-url "$FT_URL/api/trackers/bench/items" \
            --pub-json --count-url "$FT_URL/metrics" --count-key flowtrack_streams_open \
            --rss-pid "$FT_PID" --term-pid "$FT_PID" >"$out" 2>/dev/null || true
        dps[$v]+="$(awk '$1 == "deliveries_per_s" { print $2 }' "$out") "
        bench_reap "$FT_PID" 10 || true
    done
done
# shellcheck disable=SC2086
o=$(median ${dps[old]}) n=$(median ${dps[new]})
printf '%-28s %10s %10s %10s\n' "SSE, $streams streams (deliv/s)" "$o" "$n" "$(ratio "$o" "$n")"
echo
echo "medians over the rounds; new/old > 1 is slower for the CLI (ms), faster for the servers"
