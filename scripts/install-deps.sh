#!/usr/bin/env bash
# Install the Debian 12 packages flowtrack needs to build, test and benchmark.
# Idempotent: packages already present are skipped, and apt is only consulted when
# something is missing. Run as root (or through sudo).
set -euo pipefail

build_pkgs=(cmake ninja-build pkg-config gcc make libsqlite3-dev libjansson-dev libmd4c-dev
            libcmocka-dev libevent-dev zlib1g-dev libsystemd-dev libpq-dev)
# postgresql: the throwaway clusters of the PostgreSQL store's tests (tests/pg)
# python3.11-dbg: debug symbols and gdb's extension for Debian's python3, for the runner's
# Python stacks (tests/e2e/t3018-run-python-stacks.sh)
test_pkgs=(clang-format git sqlite3 python3 curl valgrind procps iproute2 gdb elfutils clang libclang-rt-14-dev nodejs
           chromium fonts-dejavu-core strace python3.11-dbg postgresql)
bench_pkgs=(hyperfine taskwarrior wrk nginx-light libnginx-mod-nchan)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")
case "${1:-}" in
--bench) want+=("${bench_pkgs[@]}") ;;
"") ;;
*) echo "usage: $0 [--bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [ "$status" != 'install ok installed' ]; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
