#!/usr/bin/env bash
# The command line on a server (--server, FLOWTRACK_SERVER): the same output, exit status and
# error message as on a file, the actor carried with each write, a run recorded through the
# server; a token-protected server refuses a client without the token; a server that is
# stopped or does not answer is an error naming its URL within the bound, never a hang; and
# which store a command uses when both a file and a server are named.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "this test runs its own server: it is the remote mode's own test"

start_server --token s3cret
R=(--server "$URL" --token s3cret)
LOCAL_DB=$T_DIR/local.db

# The same commands on a file and through the server give the same output and exit status.
both() {
    local want_rc=$1
    shift
    expect_code "$want_rc" "$FT" --db "$LOCAL_DB" "$@"
    local lo=$OUT le=$ERR
    expect_code "$want_rc" "$FT" "${R[@]}" "$@"
    equals "$OUT" "$lo" "stdout of '$*' through the server"
    equals "$ERR" "$le" "stderr of '$*' through the server"
}
both_json() {
    local lo
    expect_code 0 "$FT" --db "$LOCAL_DB" --json "$@"
    lo=$(json_content seq <<<"$OUT")
    expect_code 0 "$FT" "${R[@]}" --json "$@"
    equals "$(json_content seq <<<"$OUT")" "$lo" "JSON of '$*' through the server"
}

"$FT" --db "$LOCAL_DB" init >/dev/null
both 3 show
both 0 create --slug sse --owner 'Server team' --started 2026-11-01 'SSE release'
both 0 item add 'Write the reproducer'
both_json item add 'Map ownership'
both 0 item start 1
both 0 item done 1 2
both 0 item drop 2
both 0 item reopen 2
both 0 hyp add 'timer outlives the stream'
both 0 hyp rule-out 1 --evidence 'valgrind clean'
both 0 result add --outcome pass --notes '0 leaked' --date 2026-11-04 'free in one place'
both 0 step add 'Reproduce: run it under a timeout'
both 0 rule add 'Rerun the reproducer after every change'
both 0 rule add 'Second rule'
both 0 rule move 2 1
both 0 rule rm 1
both 0 symptom note 'seen after client aborts'
both 0 repro --command 'ctest -R sse' --timeout 2m --expect leak
both 0 fix --summary 'one free function' --why 'every end goes through it'
both 0 show --format text
both 0 show --format md
both 0 show
both_json show
both 0 item list
both 0 hyp show 1
both_json rule list
both 1 check
both 0 list
both 0 use sse
both 0 use
# bad input: the same message, the same status
both 3 item done 99
both 3 -t nope show
both 1 result add --outcome maybe x
both 1 result add --date 2026-02-31 x
both 1 step add --title 'a: b' text
both 2 item done abc
both 2 item frob 1
both 1 create --slug sse 'Duplicate'
both 3 runs show 9
both 0 create 'Second tracker'
both 0 use --clear
both 2 item add x
contains "$ERR" "several trackers and no default"
printf 'T\n\nStarted: YYYY-MM-DD\nOwner: a\rb\n' >"$T_DIR/cr.txt"
both 1 import "$T_DIR/cr.txt"
contains "$ERR" "line 4: control character 0x0d"
both 0 import --slug own "$FT_SOURCE_DIR/examples/sse-stream-release.txt"
both 0 -t own show --format text
both 0 delete own

# the actor travels with each write
expect_code 0 "$FT" "${R[@]}" --actor alice -t sse item add 'from alice'
expect_code 0 "$FT" "${R[@]}" -t sse history --json --limit 1
contains "$OUT" '"actor":"alice"'

# a run happens here and is recorded through the server, with its diagnosis
expect_code 0 $OUTER "$FT" "${R[@]}" -t sse run --label 'first try' -- sh -c 'echo hello from the run'
contains "$ERR" "recorded run 1 (pass), result 2"
expect_code 0 "$FT" "${R[@]}" -t sse runs log 1
contains "$OUT" "hello from the run"
expect_code 124 $OUTER "$FT" "${R[@]}" -t sse run --timeout 0.3 --no-stacks -- sleep 30
expect_code 0 "$FT" "${R[@]}" -t sse runs show 2
contains "$OUT" "run 2: hang"
contains "$OUT" "likely culprit"
expect_code 0 "$FT" --db "$T_DB" -t sse history --kind run.record --json
equals "$(wc -l <<<"$OUT")" 2 "run.record events in the server's store"

# a token-protected server refuses a client without the token (writes; reads without --private)
expect_code 1 "$FT" --server "$URL" -t sse item add 'no token'
contains "$ERR" "$URL"
contains "$ERR" "--token or FLOWTRACK_TOKEN"
expect_code 1 "$FT" --server "$URL" --token wrong -t sse item add 'wrong token'
expect_code 0 env FLOWTRACK_TOKEN=s3cret "$FT" --server "$URL" -t sse item add 'token from the environment'
expect_code 0 "$FT" --server "$URL" -t sse item list
stop_server
start_server --token s3cret --private
expect_code 1 "$FT" --server "$URL" list
contains "$ERR" "refused"
expect_code 0 "$FT" --server "$URL" --token s3cret list

# which store: --server beats FLOWTRACK_SERVER; --db beats FLOWTRACK_SERVER; not both flags
expect_code 0 env FLOWTRACK_SERVER=http://127.0.0.1:9 FLOWTRACK_TOKEN=s3cret "$FT" --server "$URL" list
contains "$OUT" "sse"
expect_code 0 env FLOWTRACK_SERVER="$URL" "$FT" --db "$LOCAL_DB" list
contains "$OUT" "second-tracker"
expect_code 0 env FLOWTRACK_SERVER="$URL" FLOWTRACK_TOKEN=s3cret "$FT" list
contains "$OUT" "sse"
expect_code 2 "$FT" --db "$LOCAL_DB" --server "$URL" list
contains "$ERR" "give one of them"
expect_code 2 "$FT" --server "$URL" init
expect_code 2 "$FT" --server "$URL" serve
expect_code 2 "$FT" --server 'ftp://example.org/' list
contains "$ERR" "is not the URL of a flowtrack server"

# a server that does not answer: an error naming it within the bound, never a hang
stopped="$SRV_PID $(srv_pids | tr , ' ')" # the server's processes (its workers)
t_at_exit "kill -CONT $stopped 2>/dev/null"
kill -STOP $stopped
t0=$(date +%s%N)
expect_code 1 env FLOWTRACK_SERVER_TIMEOUT=1s $OUTER "$FT" --server "$URL" --token s3cret list
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT $stopped
contains "$ERR" "did not answer within 1 s"
contains "$ERR" "$URL"
[ "$ms" -lt 10000 ] || fail "a stopped server held the client $ms ms (bound: twice 1 s)"
stop_server
# a server that is gone
t0=$(date +%s%N)
expect_code 1 $OUTER "$FT" --server "$URL" --token s3cret list
ms=$((($(date +%s%N) - t0) / 1000000))
contains "$ERR" "cannot reach the flowtrack server at $URL"
[ "$ms" -lt 5000 ] || fail "a server that is gone held the client $ms ms"
t_done
