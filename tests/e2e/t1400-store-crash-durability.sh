#!/usr/bin/env bash
# An acknowledged write survives kill -9 of the writer, and a killed write
# leaves neither half of itself: every entry has exactly its one event.
. "$(dirname "$0")/lib.sh"

# The tracker's slug is this test's own: the kills below find its writes by their command
# line, on a file or through a server (remote mode), and no other test's.
slug=crash-$$
"$FT" --db "$T_DB" create --slug "$slug" 'Crash test' >/dev/null

writer() {
    for i in $(seq 1 5000); do
        [ -e "$T_DIR/stop" ] && break
        if "$FT" --db "$T_DB" -t "$slug" item add "k$i" >/dev/null 2>&1; then
            echo "k$i" >>"$T_DIR/acked.log"
        fi
    done
}
writer 2>/dev/null &
wp=$!
t_track $wp
# Kill whatever write is in flight, many times, while the writer goes on.
# Stop after 25 kills (or 60 s), so that a busy machine still gets enough of them.
kills=0
deadline=$((SECONDS + 60))
# (Also until some write got through: in remote mode a command is a script that a kill can
# catch before it ever reaches the server, and 25 quick kills could leave nothing acknowledged.)
while kill -0 $wp 2>/dev/null && [ $SECONDS -lt $deadline ] &&
    { [ $kills -lt 25 ] || [ "$({ wc -l <"$T_DIR/acked.log"; } 2>/dev/null || echo 0)" -lt 5 ]; }; do
    if pkill -KILL -f -- "-t $slug item add" 2>/dev/null; then
        kills=$((kills + 1))
    fi
    sleep 0.00$((RANDOM % 9 + 1))
done
touch "$T_DIR/stop"
for _ in $(seq 1 100); do kill -0 $wp 2>/dev/null || break; sleep 0.1; done
kill -0 $wp 2>/dev/null && fail "writer did not stop"
wait $wp || true
[ "$kills" -ge 10 ] || fail "only $kills writes were killed: the test proved little"
[ -s "$T_DIR/acked.log" ] || fail "no write was acknowledged in 60 s: the test proved little"

acked=$(wc -l <"$T_DIR/acked.log")
"$FT" --db "$T_DB" --json show "$slug" | json '"\n".join(i["text"] for i in d["items"])' | sort >"$T_DIR/stored.txt"
sort "$T_DIR/acked.log" >"$T_DIR/acked.sorted"
missing=$(comm -23 "$T_DIR/acked.sorted" "$T_DIR/stored.txt" | wc -l)
equals "$missing" "0" "acknowledged writes missing after kill -9"
stored=$(wc -l <"$T_DIR/stored.txt")
events=$("$FT" --db "$T_DB" history -t "$slug" --kind item.add --json | wc -l)
equals "$events" "$stored" "item.add events vs stored items"
if pg_mode; then # the database checks its own pages; what is ours: no entry without its tracker
    equals "$(psql -X -At -d "$T_DB" -c 'SELECT count(*) FROM entries WHERE tracker_id NOT IN (SELECT id FROM trackers)')" 0 "entries without their tracker"
else
    equals "$(sqlite3 "$T_DB" 'PRAGMA integrity_check')" "ok" "integrity check"
fi
echo "killed $kills writes; $acked acknowledged, $stored stored"
t_done
