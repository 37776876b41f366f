#!/usr/bin/env bash
# The dashboard in Chromium: the list shows the example tracker; opening it shows its ground
# rules and items in their progress groups; a CLI write appears on the open page within 1 s;
# edits made on the page (add, move, claim, verdict with evidence, a result) are in the history
# under the actor the page asked for; the layout holds at 390 px; no console errors (CSP
# violations included). Screenshots of the list and the tracker at 1280 and 390 px are left in
# the build folder (screenshots/).
. "$(dirname "$0")/lib.sh"
remote_mode && skip "a browser test: it always talks to a server"

"$FT" import --slug sse "$FT_SOURCE_DIR/examples/sse-stream-release.txt" >/dev/null
start_server
# the page and its files
expect_status 200 "$(api GET /)" "GET /"
curl -sS -D "$T_DIR/h" -o /dev/null "$URL/ui/app.js"
file_contains "$T_DIR/h" "Content-Security-Policy: default-src 'none'; script-src 'self'"
file_contains "$T_DIR/h" "Content-Type: text/javascript"
etag=$(awk 'tolower($1) == "etag:" { print $2 }' "$T_DIR/h" | tr -d '\r')
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL/ui/app.js")
equals "$code" 304 "a revalidation with the ETag"
expect_status 404 "$(api GET /ui/nothing.js)" "an unknown file"

shots=$(dirname "$FT")/screenshots
browser basics "$URL" sse "$shots"
for f in list-1280 tracker-1280 list-390 tracker-390; do
    [ -s "$shots/$f.png" ] || fail "no screenshot $f.png"
done
stop_server
t_done
