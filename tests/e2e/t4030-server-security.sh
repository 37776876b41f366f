#!/usr/bin/env bash
# Loopback by default; a Host that is not a loopback name is refused (DNS rebinding); a write
# carrying a foreign Origin is refused (CSRF); with a token, writes (and with --private, reads)
# need 'Authorization: Bearer' or the dashboard's cookie (set by /ui/login; a write carrying only
# the cookie must come from the page's own origin); listening on a non-loopback address without a
# token is refused.
. "$(dirname "$0")/lib.sh"

code() { curl -sS --max-time 5 -o "$T_DIR/body" -w '%{http_code}' "$@"; }
J=(-H 'Content-Type: application/json')

rc=0
"$FT" --db "$T_DB" serve --listen 0.0.0.0:0 2>"$T_DIR/err" || rc=$?
[ $rc -eq 2 ] && grep -q "needs a token" "$T_DIR/err" || fail "non-loopback without a token: status $rc"

start_server
expect_status 201 "$(code -X POST "${J[@]}" -d '{"title":"S","slug":"s"}' "$URL/api/trackers")" "create"
expect_status 403 "$(code -H 'Host: evil.example:80' "$URL/api/trackers")" "foreign Host"
grep -q '"field": "Host"' "$T_DIR/body" || fail "Host not named"
expect_status 200 "$(code -H 'Host: localhost' "$URL/api/trackers")" "Host localhost"
expect_status 403 "$(code -X POST "${J[@]}" -H 'Origin: http://evil.example' -d '{"text":"x"}' \
    "$URL/api/trackers/s/items")" "foreign Origin"
expect_status 403 "$(code -X POST "${J[@]}" -H 'Origin: null' -d '{"text":"x"}' \
    "$URL/api/trackers/s/items")" "null Origin"
expect_status 403 "$(code -X POST "${J[@]}" -H 'Sec-Fetch-Site: cross-site' -d '{"text":"x"}' \
    "$URL/api/trackers/s/items")" "cross-site fetch"
expect_status 201 "$(code -X POST "${J[@]}" -H "Origin: $URL" -d '{"text":"x"}' \
    "$URL/api/trackers/s/items")" "same Origin"
ft -t s item list | grep -c "x" | has '^1$' || fail "a refused write was applied"
stop_server

start_server --token s3cret
expect_status 200 "$(code "$URL/api/trackers")" "read without token"
expect_status 401 "$(code -X POST "${J[@]}" -d '{"title":"T"}' "$URL/api/trackers")" "write without token"
expect_status 401 "$(code -X POST "${J[@]}" -H 'Authorization: Bearer s3cre' -d '{"title":"T"}' \
    "$URL/api/trackers")" "short token"
expect_status 401 "$(code -X POST "${J[@]}" -H 'Authorization: Bearer s3cretX' -d '{"title":"T"}' \
    "$URL/api/trackers")" "long token"
expect_status 201 "$(code -X POST "${J[@]}" -H 'Authorization: Bearer s3cret' -d '{"title":"T"}' \
    "$URL/api/trackers")" "write with token"
stop_server

FLOWTRACK_TOKEN=envtok start_server --private
expect_status 401 "$(code "$URL/api/trackers")" "private read without token"
expect_status 401 "$(code "$URL/api/events")" "private stream without token"
expect_status 401 "$(code "$URL/metrics")" "private metrics without token"
expect_status 200 "$(code "$URL/healthz")" "healthz stays open"
expect_status 200 "$(code -H 'Authorization: Bearer envtok' "$URL/api/trackers")" "private read"
# the dashboard's cookie: the token in hex, set by /ui/login, accepted like the header
expect_status 200 "$(code "$URL/")" "the dashboard's page stays open"
expect_status 200 "$(code "$URL/ui/session")" "the dashboard's session stays open"
expect_status 401 "$(code -X POST "${J[@]}" -d '{"token":"envto"}' "$URL/ui/login")" "a wrong token"
expect_status 400 "$(code -X POST "${J[@]}" -d '{"tok":"envtok"}' "$URL/ui/login")" "no token field"
curl -sS -o /dev/null -D "$T_DIR/h" -X POST "${J[@]}" -d '{"token":"envtok"}' "$URL/ui/login"
file_contains "$T_DIR/h" "Set-Cookie: flowtrack_token=656e76746f6b; Path=/; Max-Age=2592000; HttpOnly; SameSite=Strict"
C=(-H 'Cookie: a=b; flowtrack_token=656e76746f6b; c=d')
expect_status 200 "$(code "${C[@]}" "$URL/api/trackers")" "private read with the cookie"
expect_status 200 "$(code "${C[@]}" "$URL/metrics")" "metrics with the cookie"
expect_status 401 "$(code -H 'Cookie: flowtrack_token=656e76746f6c' "$URL/api/trackers")" "a wrong cookie"
expect_status 401 "$(code -H 'Cookie: flowtrack_token=656e76746f6b00' "$URL/api/trackers")" "a longer cookie"
expect_status 401 "$(code -X POST "${J[@]}" "${C[@]}" -d '{"text":"c"}' "$URL/api/trackers/s/items")" \
    "a write with the cookie and no Origin"
expect_status 403 "$(code -X POST "${J[@]}" "${C[@]}" -H 'Origin: http://evil.example' -d '{"text":"c"}' \
    "$URL/api/trackers/s/items")" "a write with the cookie from another origin"
expect_status 201 "$(code -X POST "${J[@]}" "${C[@]}" -H "Origin: $URL" -d '{"text":"c"}' \
    "$URL/api/trackers/s/items")" "a write with the cookie from the page's origin"
expect_status 401 "$(code -X POST "${J[@]}" -H 'Cookie: flowtrack_token=656e76746f6b' \
    -H 'Authorization: Bearer wrong' -H "Origin: $URL" -d '{"text":"c"}' "$URL/api/trackers/s/items")" \
    "a wrong header wins over a right cookie"
curl -sS -o /dev/null -D "$T_DIR/h" -X POST "${J[@]}" "$URL/ui/logout"
file_contains "$T_DIR/h" "Set-Cookie: flowtrack_token=; Path=/; Max-Age=0"
stop_server

# a non-loopback address with a token is allowed (and then any Host is fine)
start_server --token tok --listen 0.0.0.0:0
stop_server
t_done
