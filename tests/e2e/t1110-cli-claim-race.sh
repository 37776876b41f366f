#!/usr/bin/env bash
# Claims: 32 processes claim the same item at the same instant, round after round; exactly one
# wins each round, the 31 others exit 1 naming the winner, and the store holds one claim event
# per round. Then the rules around a claim: renew, steal, release, and what ends a claim.
. "$(dirname "$0")/lib.sh"

CLAIMERS=32
ROUNDS=${FT_CLAIM_ROUNDS:-50}
# A sanitized binary starts ~10x slower; fewer rounds keep the same race within the suite's time.
if is_asan; then ROUNDS=${FT_CLAIM_ROUNDS:-15}; fi
# Over PostgreSQL each claimer also connects to the database and prepares its statements:
# 3200 such processes take 85 s on 2 cores; 20 rounds race the same way.
if pg_mode; then ROUNDS=${FT_CLAIM_ROUNDS:-20}; fi
# Through a server (remote mode) each claimer is a script and an HTTP request: 15 rounds, as
# the sanitizer build's; the server serialises the claims, so the race is the same.
if remote_mode; then ROUNDS=${FT_CLAIM_ROUNDS:-15}; fi

"$FT" create --slug race 'Claim race' >/dev/null

round() { # round R: every claimer blocks on the fifo, then one write releases them all
    local r=$1 go="$T_DIR/go.$1" pids=()
    mkfifo "$go"
    exec 7<>"$go" # held open: a claimer that opens the fifo late still finds its line
    for c in $(seq 1 $CLAIMERS); do
        (
            exec 7>&-
            read -r _ <"$go"
            rc=0
            "$FT" --actor "agent-$c" item claim "$r" >"$T_DIR/out.$r.$c" 2>"$T_DIR/err.$r.$c" || rc=$?
            echo "$rc" >"$T_DIR/rc.$r.$c"
        ) &
        pids+=($!)
        t_track $!
    done
    printf '\n%.0s' $(seq 1 $CLAIMERS) >&7
    for p in "${pids[@]}"; do wait "$p"; done
    exec 7>&-
    rm -f "$go"
}

: >"$T_DIR/winners"
for r in $(seq 1 "$ROUNDS"); do
    "$FT" item add "contested item $r" >/dev/null
    round "$r"
    w=$(grep -lx 0 "$T_DIR"/rc."$r".* || true)
    [ "$(echo "$w" | grep -c .)" = 1 ] || fail "round $r: winners: $w $(cat "$T_DIR"/err."$r".* | head -3)"
    winner="agent-${w##*.}"
    equals "$(grep -lx 1 "$T_DIR"/rc."$r".* | wc -l)" $((CLAIMERS - 1)) "round $r: losers exiting 1"
    equals "$(grep -lE "^flowtrack: item $r is claimed by $winner \(for [^;]+; --steal takes over a claim older than 30m\)$" "$T_DIR"/err."$r".* | wc -l)" \
        $((CLAIMERS - 1)) "round $r: losers naming $winner"
    echo "$r $winner" >>"$T_DIR/winners"
    rm -f "$T_DIR"/rc."$r".* "$T_DIR"/out."$r".* "$T_DIR"/err."$r".*
done
expect_code 0 "$FT" --json show
echo "$OUT" >"$T_DIR/show.json"
equals "$(jget "$T_DIR/show.json" '" ".join("%d %s" % (i["num"], i["claimed_by"]) for i in d["items"] if i["state"] == "doing")')" \
    "$(tr '\n' ' ' <"$T_DIR/winners" | sed 's/ $//')" "every item doing, claimed by its round's winner"
expect_code 0 "$FT" history --kind item.claim --json
equals "$(echo "$OUT" | grep -c '"kind":"item.claim"')" "$ROUNDS" "claim events"
echo "# $ROUNDS rounds of $CLAIMERS claimers: one winner each" >&2

# The rules around one claim.
"$FT" item add 'shared work' >/dev/null
n=$((ROUNDS + 1))
expect_code 0 "$FT" --actor alice item claim $n
equals "$OUT" "claimed item $n"
expect_code 0 "$FT" --actor alice item claim $n # the holder renews
expect_code 1 "$FT" --actor bob item claim $n --steal
contains "$ERR" "item $n is claimed by alice (for "
contains "$ERR" "a claim can be stolen after 30m)"
expect_code 1 "$FT" --actor bob item release $n
contains "$ERR" "item $n is claimed by alice (--force releases it anyway)"
expect_code 0 "$FT" --actor bob item claim $n --steal --stale-after 0 --json
equals "$(echo "$OUT" | json 'd["action"], d["stolen_from"], d["entry"]["claimed_by"]')" \
    "item.claim alice bob"
expect_code 0 "$FT" show
contains "$OUT" "[$n] shared work (claimed by bob)"
expect_code 0 "$FT" item list
contains "$OUT" "[$n] doing   shared work (claimed by bob)"
expect_code 0 "$FT" --actor bob item release $n
equals "$OUT" "released item $n (now pending)"
expect_code 1 "$FT" --actor bob item release $n
contains "$ERR" "item $n is not claimed"
expect_code 0 "$FT" --actor carol item claim $n
expect_code 0 "$FT" --actor dave item release $n --force --json
equals "$(echo "$OUT" | json 'd["released_from"], d["entry"]["state"]')" "carol pending"
# moving the item out of progress ends the claim; a done item cannot be claimed
expect_code 0 "$FT" --actor carol item claim $n
expect_code 0 "$FT" item done $n
expect_code 0 "$FT" item show $n --json
equals "$(echo "$OUT" | json 'd["state"], d["claimed_by"]')" "done None"
expect_code 1 "$FT" item claim $n
contains "$ERR" "item $n is done: only a pending item can be claimed"
# usage errors
expect_code 2 "$FT" item claim
expect_code 2 "$FT" item claim x
expect_code 2 "$FT" item claim $n extra
expect_code 2 "$FT" item claim $n --force
expect_code 2 "$FT" item release $n --steal
expect_code 2 "$FT" item done $n --steal
expect_code 3 "$FT" item claim 9999
t_done
