#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests that run against the PostgreSQL store.
#
#   pg-cluster.sh start DIR    initdb in DIR (created; as the user nobody when run as root,
#                              since PostgreSQL refuses to run as root), start it on a free
#                              port of 127.0.0.1 with trust authentication for the user
#                              flowtrack, and print its base URL (postgres://flowtrack@...:PORT);
#                              fsync is off unless FT_PG_FSYNC=on: the tests kill processes,
#                              never the machine, and what a killed client or server had
#                              committed is in the cluster either way
#                              a watchdog stops it if the process that started it dies
#                              without stopping it (WATCH_PID, default: the caller's parent)
#   pg-cluster.sh stop DIR     stop it (fast, then immediate) and remove DIR
#   pg-cluster.sh pause DIR    stop it (fast: its clients' connections are closed), keep DIR
#   pg-cluster.sh resume DIR   start it again on the same port
#   pg-cluster.sh createdb URL NAME   create database NAME; print URL/NAME
#   pg-cluster.sh dropdb URL NAME     drop database NAME, ending its sessions
#
# Every wait is bounded: initdb and the start at 60 s, the stop at 20 s.
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || {
    echo "pg-cluster: no PostgreSQL server (Debian package postgresql)" >&2
    exit 2
}
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}
# the server's options: its port and socket directory, local connections only
# (FT_PG_FSYNC=on: durable across a crash of the machine, as the benchmarks run it)
pg_opts() {
    local sync=${FT_PG_FSYNC:-off}
    echo "-p $1 -k $2 -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=$sync -c full_page_writes=$sync"
}
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# the server runs as nobody, who may not enter the caller's directory
case "${1:-}" in createdb | dropdb) ;; *) [ -n "${2:-}" ] && set -- "$1" "$(realpath -m "$2")" ;; esac
cd /
case "${1:-}" in
start)
    dir=${2:?usage: pg-cluster.sh start DIR}
    watch=${WATCH_PID:-$PPID}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown nobody "$dir"
    chmod 700 "$dir"
    as_owner timeout -k 5 60 "$bindir/initdb" -D "$dir/data" -U flowtrack --auth=trust -E UTF8 \
        --no-locale --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner timeout -k 5 60 "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 50 \
            -o "$(pg_opts "$port" "$dir")" \
            start >/dev/null 2>&1; then
            echo "$port" >"$dir/port"
            # the watchdog: not a child of the caller's shell, no descriptor of it held
            setsid -f sh -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2/data" ]; do sleep 1; done
                [ -d "$2/data" ] && "$3" stop "$2"' sh "$watch" "$dir" "$(realpath "$0")" \
                </dev/null >/dev/null 2>&1
            echo "postgres://flowtrack@127.0.0.1:$port"
            exit 0
        fi
    done
    cat "$dir/server.log" >&2 2>/dev/null
    exit 1
    ;;
stop)
    dir=${2:?usage: pg-cluster.sh stop DIR}
    if [ -d "$dir/data" ]; then
        # a test may have stopped its processes (SIGSTOP): they must run to stop
        pm=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
        [ -n "$pm" ] && kill -CONT "$pm" $(pgrep -P "$pm") 2>/dev/null || true
        as_owner timeout -k 5 20 "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 15 stop \
            >/dev/null 2>&1 ||
            as_owner timeout -k 5 20 "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 15 stop \
                >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
pause)
    dir=${2:?usage: pg-cluster.sh pause DIR}
    as_owner timeout -k 5 20 "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 15 stop >/dev/null
    ;;
resume)
    dir=${2:?usage: pg-cluster.sh resume DIR}
    port=$(cat "$dir/port")
    as_owner timeout -k 5 60 "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 50 \
        -o "$(pg_opts "$port" "$dir")" \
        start >/dev/null
    ;;
createdb)
    url=${2:?usage: pg-cluster.sh createdb URL NAME}
    name=${3:?usage: pg-cluster.sh createdb URL NAME}
    timeout -k 5 30 psql -X -q -v ON_ERROR_STOP=1 -d "$url/postgres" -c "CREATE DATABASE \"$name\"" >&2
    echo "$url/$name"
    ;;
dropdb)
    url=${2:?usage: pg-cluster.sh dropdb URL NAME}
    name=${3:?usage: pg-cluster.sh dropdb URL NAME}
    timeout -k 5 30 psql -X -q -v ON_ERROR_STOP=1 -d "$url/postgres" \
        -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >&2
    ;;
*)
    echo "usage: pg-cluster.sh start DIR | stop DIR | pause DIR | resume DIR | createdb URL NAME | dropdb URL NAME" >&2
    exit 2
    ;;
esac
