#!/usr/bin/env bash
# Long fuzzing runs: each libFuzzer target of a build for RUNS executions (10 million by
# default), one after the other, at low priority, from its seed corpus in the repository.
# Prints the machine, then one line per target: executions, seconds, executions per second,
# crashes and libFuzzer's peak RSS (docs/benchmarks.md, "Fuzzing").
#
# Usage: scripts/fuzz-long.sh [--merge] BUILD_DIR [RUNS] [TARGET...]
#   BUILD_DIR  a build with -DFT_FUZZ=ON (make fuzz makes build-fuzz)
#   RUNS       executions per target (default 10000000)
#   TARGET     import, patch, request... (default: every fuzz_* of the build)
#   --merge    afterwards, add the inputs that found new coverage to tests/fuzz/corpus_<name>/
#              (libFuzzer -merge=1: only inputs that add coverage are copied)
# FT_FUZZ_JOBS=N runs N libFuzzer workers per target (-jobs=N -workers=N), RUNS/N executions
# each, sharing one corpus: RUNS in all, N times sooner on N idle cores.
# FT_FUZZ_FLAGS="..." passes more libFuzzer flags (-entropic=0: the older, cheaper schedule).
# FT_FUZZ_MAX_SECONDS=N stops each target after N seconds if it has not reached RUNS by then
# (the line then says how far it got).
# FT_FUZZ_REPLAY=BUILD_DIR afterwards runs every input of the grown corpus once through the
# same target of another build (the ASan build, make fuzz): a fast build's run finds the
# inputs, AddressSanitizer checks each of them for memory errors that did not show there.
# The corpus grows in a temporary copy; a crashing input and the log are kept in
# ${FT_FUZZ_OUT:-fuzz-out}/ (created in the current directory) with the summary.
set -euo pipefail
merge=0
if [ "${1:-}" = --merge ]; then
    merge=1
    shift
fi
build=$(realpath "${1:?usage: fuzz-long.sh [--merge] BUILD_DIR [RUNS] [TARGET...]}")
runs=${2:-10000000}
shift $(($# >= 2 ? 2 : 1))
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${FT_FUZZ_OUT:-fuzz-out}")
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/ft-fuzz-long.XXXXXX")
trap 'rm -rf "$work"' EXIT

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for bin in "$build"/fuzz_*; do
        targets+=("$(basename "$bin" | sed 's/^fuzz_//')")
    done
fi

summary="$out/summary.txt"
{
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
        "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)," \
        "load $(cut -d' ' -f1-3 /proc/loadavg) at start"
    echo "compiler: $(clang --version 2>/dev/null | head -1 || echo unknown)"
    printf '%-8s %12s %9s %9s %8s %9s\n' target executions seconds exec/s crashes peak_rss
} | tee "$summary"

status=0
for name in "${targets[@]}"; do
    bin="$build/fuzz_$name"
    corpus="$work/corpus_$name"
    mkdir -p "$corpus"
    cp "$root/tests/fuzz/corpus_$name/"* "$corpus/" 2>/dev/null || true
    log="$out/$name.log"
    touch "$work/stamp"
    t0=$(date +%s.%N)
    rc=0
    jobs=${FT_FUZZ_JOBS:-1}
    par=()
    [ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
    rm -f "$work"/fuzz-*.log
    (cd "$work" && nice -n 10 "$bin" "${par[@]}" -runs=$((runs / jobs)) \
        -max_total_time="${FT_FUZZ_MAX_SECONDS:-0}" -max_len=8192 -print_final_stats=1 \
        ${FT_FUZZ_FLAGS:-} \
        -artifact_prefix="$out/$name-" "$corpus" >"$log" 2>&1) || rc=$?
    t1=$(date +%s.%N)
    logs=("$log")
    if [ "$jobs" -gt 1 ]; then # each worker logs to fuzz-J.log in its directory
        logs=()
        for j in $(seq 0 $((jobs - 1))); do
            cp "$work/fuzz-$j.log" "$out/$name.$j.log" 2>/dev/null && logs+=("$out/$name.$j.log")
        done
    fi
    execs=0
    rss=0
    for l in "${logs[@]}"; do
        e=$(sed -n 's/^stat::number_of_executed_units: *//p' "$l" | tail -1)
        r=$(sed -n 's/^stat::peak_rss_mb: *//p' "$l" | tail -1)
        if [ -z "$e" ]; then # a crash ends the run before the final stats: the last status line
            e=$(grep -oE '^#[0-9]+' "$l" | tail -1 | tr -d '#')
            r=$(grep -oE 'rss: [0-9]+Mb' "$l" | tail -1 | grep -oE '[0-9]+')
        fi
        execs=$((execs + ${e:-0}))
        [ "${r:-0}" -gt "$rss" ] && rss=$r
    done
    crashes=$(find "$out" -maxdepth 1 -name "$name-*" -newer "$work/stamp" | wc -l)
    # an exit without an artifact: stopped from outside (a signal), not a crash
    [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && echo "$name: stopped (exit status $rc)" >&2
    secs=$(echo "$t1 - $t0" | bc)
    rate=$(echo "${execs:-0} / $secs" | bc)
    printf '%-8s %12s %9.0f %9s %8s %7sMB%s\n' "$name" "$execs" "$secs" "$rate" "$crashes" \
        "$rss" "$([ "$jobs" -gt 1 ] && echo " ($jobs workers)")" | tee -a "$summary"
    if [ "$crashes" -ne 0 ]; then
        grep -hE 'ERROR|SUMMARY|Test unit written' "${logs[@]}" | head -5 >&2
        status=1
    fi
    if [ -n "${FT_FUZZ_REPLAY:-}" ]; then
        n=$(ls "$corpus" | wc -l)
        touch "$work/stamp"
        rrc=0
        (cd "$work" && nice -n 10 "$(realpath "$FT_FUZZ_REPLAY")/fuzz_$name" -runs=0 -max_len=8192 \
            -artifact_prefix="$out/$name-replay-" "$corpus" >"$out/$name.replay.log" 2>&1) || rrc=$?
        bad=$(find "$out" -maxdepth 1 -name "$name-replay-*" -newer "$work/stamp" | wc -l)
        if [ "$rrc" -ne 0 ] || [ "$bad" -ne 0 ]; then
            echo "replay $name: $n inputs through $FT_FUZZ_REPLAY: FAILED (see $out/$name.replay.log)" |
                tee -a "$summary"
            status=1
        else
            echo "replay $name: $n inputs through $FT_FUZZ_REPLAY: 0 crashes" | tee -a "$summary"
        fi
    fi
    if [ "$merge" = 1 ]; then
        (cd "$work" && "$bin" -merge=1 -max_len=8192 "$root/tests/fuzz/corpus_$name" "$corpus" \
            >"$out/$name.merge.log" 2>&1) || echo "merge $name: failed (see $out/$name.merge.log)" >&2
        echo "merge $name: $(ls "$root/tests/fuzz/corpus_$name" | wc -l) inputs in the corpus"
    fi
done
exit $status
