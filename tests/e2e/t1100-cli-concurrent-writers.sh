#!/usr/bin/env bash
# Two processes adding 500 entries each at the same time lose none (200 each over PostgreSQL,
# where each command also connects to the database, through a server, where each is a script
# and a request, and in the sanitizer build, whose processes start ~10x slower: the same race
# in the suite's time).
. "$(dirname "$0")/lib.sh"
N=500
{ pg_mode || remote_mode || is_asan; } && N=200

"$FT" create --slug race 'Concurrent writers' >/dev/null
writer() {
    for i in $(seq 1 "$N"); do
        "$FT" --actor "$1" item add "$1 item $i" >/dev/null || echo "FAILED $1 $i"
    done
}
writer w1 >"$T_DIR/w1.log" 2>&1 &
p1=$!
t_track $p1
writer w2 >"$T_DIR/w2.log" 2>&1 &
p2=$!
t_track $p2
wait $p1 || fail "writer 1 failed"
wait $p2 || fail "writer 2 failed"
[ -s "$T_DIR/w1.log" ] && fail "writer 1: $(head -3 "$T_DIR/w1.log")"
[ -s "$T_DIR/w2.log" ] && fail "writer 2: $(head -3 "$T_DIR/w2.log")"

expect_code 0 "$FT" --json show
equals "$(echo "$OUT" | json 'len(d["items"]), len(set(i["num"] for i in d["items"])), len(set(i["text"] for i in d["items"]))')" "$((2 * N)) $((2 * N)) $((2 * N))"
expect_code 0 "$FT" history --kind item.add --json
equals "$(echo "$OUT" | grep -c '"actor":"w1"')" "$N"
equals "$(echo "$OUT" | grep -c '"actor":"w2"')" "$N"
t_done
