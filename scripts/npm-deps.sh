#!/usr/bin/env bash
# Install the npm packages of a test directory (its package-lock.json, with `npm ci`) when they
# are missing or the lockfile changed; installs Node.js and npm from Debian when there are none.
#   scripts/npm-deps.sh DIR
set -euo pipefail
dir=${1:?usage: npm-deps.sh DIR}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "installing: nodejs npm" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
stamp=$dir/node_modules/.flowtrack-lock-sha256
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$stamp"
fi
