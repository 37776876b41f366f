# shellcheck shell=bash
# Shared by the server benchmarks (bench/sse, bench/http); source it, do not run it.
#
# Starts nginx (own prefix, config and pid file in a temporary directory, in the foreground
# under this shell) and `flowtrack serve` on loopback ports, and stops every process it
# started on any exit (bench_cleanup, installed as the EXIT trap by bench_init).

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_PIDS=()
BENCH_TMP=

bench_init() {
    BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/flowtrack-bench.XXXXXX")
    chmod 0755 "$BENCH_TMP" # nginx workers run as an unprivileged user
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Waits at most $2 seconds (default 5) for a process started here to exit, then sends it
# SIGKILL; forgets it and returns its exit status.
bench_reap() {
    local pid=$1 limit=${2:-5} i st=0
    for i in $(seq $((limit * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ] && break # exited, not reaped
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || st=$?
    bench_forget "$pid"
    return "$st"
}

# Drops a reaped process from the list that bench_cleanup stops.
bench_forget() {
    local i rest=()
    for i in ${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}; do
        [ "$i" = "$1" ] || rest+=("$i")
    done
    BENCH_PIDS=(${rest[@]+"${rest[@]}"})
}

# Stops a process started here: SIGTERM, then SIGKILL after 5 s.
bench_stop() {
    kill -TERM "$1" 2>/dev/null || true
    bench_reap "$1" 5 || true
}

bench_cleanup() {
    local pid
    for pid in ${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}; do
        bench_stop "$pid"
    done
    [ -n "$BENCH_TMP" ] && [ -z "${BENCH_KEEP:-}" ] && rm -rf "$BENCH_TMP"
    return 0
}

# One line saying what the figures were measured on.
bench_machine() {
    local cpu deb
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    deb=$(cat /etc/debian_version 2>/dev/null || echo '?')
    echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r), Debian $deb," \
        "$(free -g | awk '/^Mem:/{print $2}') GiB RAM, temp dir on $(df -T "$BENCH_TMP" | awk 'NR==2{print $2}')," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
}

# Compiles the C load harness into the temp dir; prints its path.
bench_build_sseload() {
    local out="$BENCH_TMP/sseload"
    cc -O2 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread \
        -o "$out" "$BENCH_ROOT/bench/sse/sseload.c"
    echo "$out"
}

# Builds a Release flowtrack at the repo root unless FLOWTRACK names a binary; prints its path.
bench_build_flowtrack() {
    if [ -n "${FLOWTRACK:-}" ]; then
        echo "$FLOWTRACK"
        return
    fi
    if ! (cd "$BENCH_ROOT" &&
        cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
            -DFT_WERROR=ON >/dev/null &&
        ninja -C build-release >&2); then
        # A warning that only the optimiser sees must not stop a measurement: say so, go on.
        echo "warning: the Release build fails with -Werror; building it without" >&2
        (cd "$BENCH_ROOT" && cmake -S . -B build-release -DFT_WERROR=OFF >/dev/null &&
            ninja -C build-release >&2)
    fi
    echo "$BENCH_ROOT/build-release/flowtrack"
}

# A free loopback port.
bench_free_port() {
    "$BENCH_TMP/sseload" --free-port
}

# Waits (at most 10 s) until an URL answers; returns 1 if it never does.
bench_wait_url() {
    local url=$1 i
    for i in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "$url" && return 0
        sleep 0.1
    done
    return 1
}

# nginx_start NAME SERVER_BLOCK_BODY
# Starts nginx with $BENCH_WORKERS workers (default 1) in $BENCH_TMP/NAME, listening on a
# free loopback port, with the given directives inside its server block. Sets NGINX_PORT,
# NGINX_PID (master), NGINX_WORKER (the first worker) and NGINX_WORKERS (all, comma-separated).
nginx_start() {
    local name=$1 body=$2 dir="$BENCH_TMP/$1" i
    mkdir -p "$dir"
    chmod 0755 "$dir"
    NGINX_PORT=$(bench_free_port)
    cat >"$dir/nginx.conf" <<EOF
${NGINX_MODULES:-}
worker_processes ${BENCH_WORKERS:-1};
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; use epoll; }
http {
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NGINX_PORT;
$body
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
    NGINX_PID=$!
    BENCH_PIDS+=("$NGINX_PID")
    NGINX_WORKER=
    NGINX_WORKERS=
    for i in $(seq 100); do
        NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | paste -sd, - || true)
        if [ "$(echo "$NGINX_WORKERS" | tr , '\n' | grep -c .)" -ge "${BENCH_WORKERS:-1}" ]; then
            NGINX_WORKER=${NGINX_WORKERS%%,*}
            break
        fi
        sleep 0.1
    done
    if [ -z "$NGINX_WORKER" ] || ! bench_wait_url "http://127.0.0.1:$NGINX_PORT/"; then
        echo "nginx did not start:" >&2
        cat "$dir/error.log" >&2
        return 1
    fi
}

# flowtrack_start NAME BINARY DB [serve options...]
# Starts `flowtrack serve --loops $BENCH_WORKERS` (default 1) on a free loopback port with the
# store DB. Sets FT_URL, FT_PID (the server, or the supervisor of its workers) and FT_WORKERS
# (the processes that serve, comma-separated); its log goes to $BENCH_TMP/NAME.log. Returns 1
# if it is not ready within 10 s.
flowtrack_start() {
    local name=$1 bin=$2 db=$3 i
    shift 3
    local ready="$BENCH_TMP/$name.ready"
    rm -f "$ready"
    local loops=()
    # a binary from before --loops (bench/ab's older commits) serves on one loop anyway
    "$bin" serve --help 2>/dev/null | grep -q -- '--loops' && loops=(--loops "${BENCH_WORKERS:-1}")
    "$bin" serve --listen 127.0.0.1:0 --db "$db" --ready-file "$ready" "${loops[@]}" "$@" \
        2>"$BENCH_TMP/$name.log" &
    FT_PID=$!
    BENCH_PIDS+=("$FT_PID")
    FT_URL=
    for i in $(seq 100); do
        if [ -s "$ready" ]; then
            FT_URL=$(head -1 "$ready")
            break
        fi
        kill -0 "$FT_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$FT_URL" ]; then
        echo "flowtrack serve did not become ready:" >&2
        tail -5 "$BENCH_TMP/$name.log" >&2
        return 1
    fi
    FT_WORKERS=$(pgrep -P "$FT_PID" -f -- ' serve ' | paste -sd, - || true)
    FT_WORKERS=${FT_WORKERS:-$FT_PID}
}
