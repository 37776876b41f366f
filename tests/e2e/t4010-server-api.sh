#!/usr/bin/env bash
# The JSON API covers what the command line does: trackers (create, import, list, show as JSON,
# Markdown and text, edit, delete), every entry kind (add, list, show, edit, state, verdict,
# move, remove), reproduction and final fix, section notes, history, runs, check, the default
# tracker. Each write is visible to the CLI on the same store and appears in the events log.
# Every answer's body is checked: a write's envelope (action, seq, tracker, entry), a read's
# resource, and what the command line prints for the same action with --json.
. "$(dirname "$0")/lib.sh"

# body EXPR WANT [WHAT]: a Python expression over the last answer's JSON (d) prints WANT.
body() {
    equals "$(jget "$T_DIR/body" "$1")" "$2" "${3:-body: $1}"
}

start_server
s=$(api POST /api/trackers '{"title":"Streams hang","slug":"hang","owner":"ana","objective":"no hangs"}')
expect_status 201 "$s" "create"
grep -q '"slug": "hang"' "$T_DIR/body" || fail "create body"
body '(d["ok"], d["action"], d["tracker"]["slug"], d["tracker"]["title"], d["seq"] > 0)' \
    "(True, 'tracker.create', 'hang', 'Streams hang', True)"
[ "$(api GET /api/trackers)" = 200 ] && grep -q '"hang"' "$T_DIR/body" || fail "list"
body '[(t["slug"], t["status"], t["progress"]["pending"], t["default"]) for t in d]' \
    "[('hang', 'open', 0, False)]"

for k in rules symptoms followups notes items; do
    expect_status 201 "$(api POST /api/trackers/hang/$k '{"text":"first '$k'"}')" "add $k"
    body '(d["action"], d["num"], d["entry"]["text"], d["tracker"]["slug"])' \
        "('$(sed 's/s$//' <<<"$k").add', 1, 'first $k', 'hang')"
done
expect_status 201 "$(api POST /api/trackers/hang/steps '{"title":"Reproduce","text":"run it"}')" "step"
body '(d["kind"], d["entry"]["title"], d["entry"]["text"])' "('step', 'Reproduce', 'run it')"
expect_status 201 "$(api POST /api/trackers/hang/hypotheses '{"text":"a leak"}')" "hyp"
body '(d["kind"], d["entry"]["verdict"])' "('hyp', 'open')"
expect_status 201 "$(api POST /api/trackers/hang/results '{"attempt":"ran it","outcome":"hang","date":"2026-11-20"}')" "result"
body '(d["action"], d["entry"]["attempt"], d["entry"]["outcome"], d["entry"]["date"])' \
    "('result.add', 'ran it', 'hang', '2026-11-20')"
expect_status 201 "$(api POST /api/trackers/hang/items '{"text":"second"}')" "item 2"
grep -q '"num": 2' "$T_DIR/body" || fail "item number"
body '(d["num"], d["entry"]["state"])' "(2, 'pending')"
# the command line's --json is the same result
ft -t hang --json item add 'third' >"$T_DIR/cli.json"
python3 - "$T_DIR/body" "$T_DIR/cli.json" <<'PY' || fail "CLI --json and REST body differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
keys = lambda v: sorted(v) if isinstance(v, dict) else v
assert keys(a) == keys(b) and keys(a["entry"]) == keys(b["entry"]), (a, b)
assert (b["action"], b["num"], b["entry"]["text"]) == ("item.add", 3, "third"), b
PY

expect_status 200 "$(api PATCH /api/trackers/hang/items/1 '{"state":"done"}')" "item done"
grep -q '"state": "done"' "$T_DIR/body" || fail "state not done"
body '(d["action"], d["num"], d["entry"]["state"])' "('item.update', 1, 'done')"
expect_status 200 "$(api PATCH /api/trackers/hang/hypotheses/1 '{"verdict":"confirmed","evidence":"valgrind"}')" "verdict"
body '(d["entry"]["verdict"], d["entry"]["evidence"])' "('confirmed', 'valgrind')"
expect_status 200 "$(api PATCH /api/trackers/hang/items/2 '{"position":1}')" "move"
body '(d["action"], d["num"], d["position"])' "('item.move', 2, 1)"
expect_status 200 "$(api GET /api/trackers/hang/items)" "list items"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); sys.exit(0 if [e["num"] for e in a]==[2,1,3] else 1)' "$T_DIR/body" ||
    fail "move did not reorder: $(cat "$T_DIR/body")"
expect_status 200 "$(api GET /api/trackers/hang/items/2)" "get item"
body '(d["num"], d["kind"], d["text"], d["state"])' "(2, 'item', 'second', 'pending')"
expect_status 200 "$(api PATCH /api/trackers/hang '{"repro_command":"make test","repro_timeout_ms":30000,"fix_summary":"free it","fix_why":"owner","fix_evidence":"leak test","symptoms_note":"seen on CI"}')" "repro/fix"
body '(d["action"], sorted(d["changed"]), d["changed"]["repro_timeout_ms"])' \
    "('tracker.update', ['fix_evidence', 'fix_summary', 'fix_why', 'repro_command', 'repro_timeout_ms', 'symptoms_note'], 30000)"
expect_status 200 "$(api GET /api/trackers/hang/header)" "header"
body '(d["reproduction"]["command"], d["final_fix"]["summary"], "items" in d)' "('make test', 'free it', False)"
expect_status 204 "$(api DELETE /api/trackers/hang/notes/1)" "remove note"
[ ! -s "$T_DIR/body" ] || fail "204 with a body: $(cat "$T_DIR/body")"
expect_status 404 "$(api GET /api/trackers/hang/notes/1)" "removed note"
body '(d["error"]["status"], d["error"]["reason"], d["error"]["message"])' "(404, 'not_found', 'no note 1')"
# asked for it, a DELETE answers with its result
s=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -X DELETE -H 'Prefer: return=representation' \
    "$URL/api/trackers/hang/followups/1")
expect_status 200 "$s" "remove with Prefer"
body '(d["action"], d["num"], d["entry"]["text"])' "('followup.remove', 1, 'first followups')"

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
body 'd[0]["kind"], d[0]["slug"], d[-1]["actor"], len(d) >= 15' "('tracker.create', 'hang', 'api', True)"
expect_status 200 "$(api GET /api/trackers/hang/runs)" "runs"
[ "$(tr -d ' \n' <"$T_DIR/body")" = "[]" ] || fail "runs: $(cat "$T_DIR/body")"
expect_status 404 "$(api GET /api/trackers/hang/runs/1)" "no run"
body 'd["error"]["message"]' "no run 1"
# a run recorded by another process (as `flowtrack run` does) is readable, log included
[ "$("$FT_HELPERS/ft_record_run" "$T_DB" hang "make test" "boom at line 3")" = 1 ] || fail "record run"
expect_status 200 "$(api GET /api/trackers/hang/runs)" "runs"
grep -q '"command": "make test"' "$T_DIR/body" || fail "runs list: $(cat "$T_DIR/body")"
expect_status 200 "$(api GET /api/trackers/hang/runs/1)" "run 1"
grep -q 'boom at line 3' "$T_DIR/body" || fail "run log: $(cat "$T_DIR/body")"
body '(d["num"], d["command"], d["outcome"])' "(1, 'make test', 'fail')"
expect_status 405 "$(api POST /api/trackers/hang/runs '{}')" "runs are read-only"
# a run comes in with the results entry it produced (as `flowtrack run` sends it)
expect_status 201 "$(api POST /api/trackers/hang/results '{"attempt":"make test","outcome":"pass","notes":"exit 0","run":{"command":"make test","outcome":"pass","duration_ms":12,"exit_code":0,"log":"all good"}}')" "run and result"
body '(d["action"], d["run"]["num"], d["run"]["outcome"], d["num"], d["entry"]["run"])' "('run.record', 2, 'pass', 2, 2)"
expect_status 400 "$(api POST /api/trackers/hang/results '{"attempt":"x","run":{"outcome":"pass"}}')" "run without a command"
body 'd["error"]["field"]' "command"
expect_status 200 "$(api GET /api/trackers/hang/check)" "check"
body '(d["tracker"], d["ok"], type(d["findings"]).__name__)' "('hang', $(jget "$T_DIR/body" 'len(d["findings"]) == 0'), 'list')"
expect_status 200 "$(api PUT /api/default '{"tracker":"hang"}')" "set default"
body '(d["action"], d["default"], d["tracker"]["slug"])' "('default.set', 'hang', 'hang')"
ft use | has hang || fail "default tracker not set for the CLI"
expect_status 200 "$(api GET /api/default)" "get default"
body 'd["default"]' "hang"
# ~ names the default tracker
expect_status 200 "$(api GET '/api/trackers/~/items/2')" "the default's item"
body 'd["text"]' "second"

# import as Markdown
curl -sS --max-time 5 "$URL/api/trackers/hang.md" >"$T_DIR/hang.md"
s=$(curl -sS --max-time 10 -o "$T_DIR/body" -w '%{http_code}' -X POST -H 'Content-Type: text/markdown' \
    --data-binary @"$T_DIR/hang.md" "$URL/api/trackers?slug=copy")
expect_status 201 "$s" "import"
body '(d["action"], d["tracker"]["slug"], d["tracker"]["title"])' "('tracker.import', 'copy', 'Streams hang')"
ft show copy --format json | has '"title": "Streams hang"' || fail "imported title"
ft -t copy item list | has "first items" || fail "imported tracker lost its items"

expect_status 204 "$(api DELETE /api/trackers/copy)" "delete"
expect_status 404 "$(api GET /api/trackers/copy)" "deleted"
body 'd["error"]["message"]' "no tracker 'copy'"
stop_server
t_done
