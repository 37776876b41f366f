#!/usr/bin/env bash
# The dashboard on a server with a token and --private: the page asks for the token and shows
# nothing before it; a wrong one is refused; the right one is kept in an HttpOnly,
# SameSite=Strict cookie that the API and the event stream accept; a write from another origin
# carrying the cookie writes nothing, one from the page's own origin works.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "a browser test: it always talks to a server"

"$FT" import --slug sse "$FT_SOURCE_DIR/examples/sse-stream-release.txt" >/dev/null
secret="tok-$RANDOM-$RANDOM; with = odd chars"
start_server --token "$secret" --private
# the page's files are public, the data is not
expect_status 200 "$(api GET /)" "GET / without the token"
expect_status 401 "$(api GET /api/trackers)" "the list without the token"
equals "$(curl -sS "$URL/ui/session" | json 'd["token_required"], d["private"], d["authenticated"]')" \
    "True True False" "the session before login"
code=$(curl -sS -o "$T_DIR/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Origin: http://evil.example" -d '{"token": "x"}' "$URL/ui/login")
expect_status 403 "$code" "a cross-origin login"
browser token "$URL" sse "$secret"
stop_server
t_done
