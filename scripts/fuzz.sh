#!/usr/bin/env bash
# Run every libFuzzer target of a build for a bounded time each, starting from
# its seed corpus in tests/fuzz/corpus_<name>/ (copied: the seeds stay as they are).
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
secs=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ft-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
for bin in "$(realpath "$build")"/fuzz_*; do
    name=$(basename "$bin" | sed 's/^fuzz_//')
    mkdir -p "$work/$name"
    cp "$root/tests/fuzz/corpus_$name/"* "$work/$name/" 2>/dev/null || true
    echo "fuzz $name: ${secs}s"
    if ! (cd "$work" && timeout $((secs + 60)) "$bin" -max_total_time="$secs" -max_len=8192 \
        -print_final_stats=0 "$work/$name" >"$work/$name.log" 2>&1); then
        tail -40 "$work/$name.log" >&2
        cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$root/" 2>/dev/null || true
        echo "fuzz $name: FAILED (the input is saved in the repository root)" >&2
        status=1
    else
        grep -E '^Done|#[0-9]+.*DONE' "$work/$name.log" | tail -1
    fi
done
exit $status
