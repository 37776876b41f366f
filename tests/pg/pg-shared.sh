#!/usr/bin/env bash
# One PostgreSQL cluster for a whole ctest run: the fixture of the e2e.pg.* tests, each of
# which then works in databases of its own on it (tests/e2e/lib.sh, pg_newdb) instead of
# starting a cluster per test.
#
#   pg-shared.sh start FILE   start a cluster (pg-cluster.sh) in a new temporary directory,
#                             write its base URL into DIR/url and DIR's path into FILE;
#                             a cluster FILE names already is stopped first. Its watchdog
#                             stops it if the caller (ctest) dies without stopping it.
#   pg-shared.sh stop FILE    stop the cluster FILE names and remove FILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
file=${2:?usage: pg-shared.sh start|stop FILE}
stop() {
    if [ -f "$file" ]; then
        "$here/pg-cluster.sh" stop "$(cat "$file")"
        rm -f "$file"
    fi
}
case "${1:-}" in
start)
    stop
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ft-pg-shared.XXXXXX")
    WATCH_PID=$PPID "$here/pg-cluster.sh" start "$dir" >"$dir/url.new"
    mv "$dir/url.new" "$dir/url"
    echo "$dir" >"$file"
    echo "PostgreSQL for the run: $(cat "$dir/url") ($dir)"
    ;;
stop)
    stop
    ;;
*)
    echo "usage: pg-shared.sh start|stop FILE" >&2
    exit 2
    ;;
esac
