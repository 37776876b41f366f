#!/usr/bin/env bash
# Run every libFuzzer target of a build for a bounded time, all at once (each in a directory
# of its own), starting from its seed corpus in tests/fuzz/corpus_<name>/ (copied: the seeds
# stay as they are). A failing target's input is saved in the repository root.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
secs=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ft-fuzz.XXXXXX")
pids=()
names=()
cleanup() {
    for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
for bin in "$(realpath "$build")"/fuzz_*; do
    name=$(basename "$bin" | sed 's/^fuzz_//')
    mkdir -p "$work/$name/corpus"
    cp "$root/tests/fuzz/corpus_$name/"* "$work/$name/corpus/" 2>/dev/null || true
    echo "fuzz $name: ${secs}s"
    (cd "$work/$name" && exec timeout $((secs + 60)) "$bin" -max_total_time="$secs" \
        -max_len=8192 -print_final_stats=0 corpus >log 2>&1) &
    pids+=("$!")
    names+=("$name")
done
status=0
for i in "${!pids[@]}"; do
    name=${names[$i]}
    if ! wait "${pids[$i]}"; then
        tail -40 "$work/$name/log" >&2
        cp "$work/$name"/crash-* "$work/$name"/leak-* "$work/$name"/timeout-* "$root/" 2>/dev/null || true
        echo "fuzz $name: FAILED (the input is saved in the repository root)" >&2
        status=1
    else
        echo "fuzz $name: $(grep -E '^Done|#[0-9]+.*DONE' "$work/$name/log" | tail -1)"
    fi
    pids[$i]=
done
exit $status
