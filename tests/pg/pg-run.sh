#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster (pg-cluster.sh): FT_TEST_PG holds its base
# URL (postgres://flowtrack@127.0.0.1:PORT; a test adds /DBNAME after creating it). The
# cluster is stopped and removed however the command ends. Exit status: the command's.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/ft-pg.XXXXXX")
stop() { "$here/pg-cluster.sh" stop "$dir"; }
trap stop EXIT
trap 'exit 143' TERM INT
FT_TEST_PG=$(WATCH_PID=$$ "$here/pg-cluster.sh" start "$dir") || exit 1
export FT_TEST_PG
"$@"
