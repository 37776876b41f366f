#!/usr/bin/env bash
# The JSON API covers what the command line does: trackers (create, import, list, show as JSON,
# Markdown and text, edit, delete), every entry kind (add, list, show, edit, state, verdict,
# move, remove), reproduction and final fix, section notes, history, runs, check, the default
# tracker. Each write is visible to the CLI on the same store and appears in the events log.
. "$(dirname "$0")/lib.sh"

start_server
s=$(api POST /api/trackers '{"title":"Streams hang","slug":"hang","owner":"ana","objective":"no hangs"}')
expect_status 201 "$s" "create"
grep -q '"slug": "hang"' "$T_DIR/body" || fail "create body"
[ "$(api GET /api/trackers)" = 200 ] && grep -q '"hang"' "$T_DIR/body" || fail "list"

for k in rules symptoms followups notes items; do
    expect_status 201 "$(api POST /api/trackers/hang/$k '{"text":"first '$k'"}')" "add $k"
done
expect_status 201 "$(api POST /api/trackers/hang/steps '{"title":"Reproduce","text":"run it"}')" "step"
expect_status 201 "$(api POST /api/trackers/hang/hypotheses '{"text":"a leak"}')" "hyp"
expect_status 201 "$(api POST /api/trackers/hang/results '{"attempt":"ran it","outcome":"hang","date":"2026-11-20"}')" "result"
expect_status 201 "$(api POST /api/trackers/hang/items '{"text":"second"}')" "item 2"
grep -q '"num": 2' "$T_DIR/body" || fail "item number"

expect_status 200 "$(api PATCH /api/trackers/hang/items/1 '{"state":"done"}')" "item done"
grep -q '"state": "done"' "$T_DIR/body" || fail "state not done"
expect_status 200 "$(api PATCH /api/trackers/hang/hypotheses/1 '{"verdict":"confirmed","evidence":"valgrind"}')" "verdict"
expect_status 200 "$(api PATCH /api/trackers/hang/items/2 '{"position":1}')" "move"
expect_status 200 "$(api GET /api/trackers/hang/items)" "list items"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); sys.exit(0 if [e["num"] for e in a]==[2,1] else 1)' "$T_DIR/body" ||
    fail "move did not reorder: $(cat "$T_DIR/body")"
expect_status 200 "$(api GET /api/trackers/hang/items/2)" "get item"
expect_status 200 "$(api PATCH /api/trackers/hang '{"repro_command":"make test","repro_timeout_ms":30000,"fix_summary":"free it","fix_why":"owner","fix_evidence":"leak test","symptoms_note":"seen on CI"}')" "repro/fix"
expect_status 204 "$(api DELETE /api/trackers/hang/notes/1)" "remove note"
expect_status 404 "$(api GET /api/trackers/hang/notes/1)" "removed note"

# the CLI sees the API's writes
ft -t hang item list | has "done.*first items" || fail "CLI does not see item 1 done"
ft -t hang fix | has "summary:  free it" || fail "CLI does not see the fix"
ft -t hang history --json | has '"actor":"api"' || fail "API writes not attributed"

# views
curl -sS --max-time 5 "$URL/api/trackers/hang.md" | has "^# Streams hang" || fail "markdown view"
curl -sS --max-time 5 "$URL/api/trackers/hang?format=text" | has "Streams hang" || fail "text view"
curl -sS --max-time 5 -D "$T_DIR/h" -o /dev/null "$URL/api/trackers/hang.txt"
grep -qi '^content-type: text/plain' "$T_DIR/h" || fail "text content type"
grep -qi '^etag: "' "$T_DIR/h" || fail "no ETag"

# history, runs, check, default
expect_status 200 "$(api GET '/api/trackers/hang/history?kind=item&limit=2')" "history"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); sys.exit(0 if len(a)==2 and all(e["kind"].startswith("item") for e in a) and a[0]["seq"]<a[1]["seq"] else 1)' "$T_DIR/body" ||
    fail "history filter: $(cat "$T_DIR/body")"
expect_status 200 "$(api GET /api/history)" "all history"
expect_status 200 "$(api GET /api/trackers/hang/runs)" "runs"
[ "$(tr -d ' \n' <"$T_DIR/body")" = "[]" ] || fail "runs: $(cat "$T_DIR/body")"
expect_status 404 "$(api GET /api/trackers/hang/runs/1)" "no run"
# a run recorded by another process (as `flowtrack run` does) is readable, log included
[ "$("$FT_HELPERS/ft_record_run" "$T_DB" hang "make test" "boom at line 3")" = 1 ] || fail "record run"
expect_status 200 "$(api GET /api/trackers/hang/runs)" "runs"
grep -q '"command": "make test"' "$T_DIR/body" || fail "runs list: $(cat "$T_DIR/body")"
expect_status 200 "$(api GET /api/trackers/hang/runs/1)" "run 1"
grep -q 'boom at line 3' "$T_DIR/body" || fail "run log: $(cat "$T_DIR/body")"
expect_status 405 "$(api POST /api/trackers/hang/runs '{}')" "runs are read-only"
expect_status 200 "$(api GET /api/trackers/hang/check)" "check"
expect_status 200 "$(api PUT /api/default '{"tracker":"hang"}')" "set default"
ft use | has hang || fail "default tracker not set for the CLI"
expect_status 200 "$(api GET /api/default)" "get default"

# import as Markdown
curl -sS --max-time 5 "$URL/api/trackers/hang.md" >"$T_DIR/hang.md"
s=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -X POST -H 'Content-Type: text/markdown' \
    --data-binary @"$T_DIR/hang.md" "$URL/api/trackers?slug=copy")
expect_status 201 "$s" "import"
ft show copy --format json | has '"title": "Streams hang"' || fail "imported title"
ft -t copy item list | has "first items" || fail "imported tracker lost its items"

expect_status 204 "$(api DELETE /api/trackers/copy)" "delete"
expect_status 404 "$(api GET /api/trackers/copy)" "deleted"
stop_server
t_done
