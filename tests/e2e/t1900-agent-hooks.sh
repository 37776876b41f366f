#!/usr/bin/env bash
# The session hooks, fed the JSON objects Claude Code and Codex send: session-start gives the
# context (title, ground rules, items in progress, failing checks); the stop gate blocks while a
# checkable rule fails, never twice in a row for the same findings, blocks again for new ones,
# and lets go when the rules hold or the tracker waits for a person.
. "$(dirname "$0")/lib.sh"

export XDG_STATE_HOME=$T_DIR/state
mkdir -p "$T_DIR/proj"
SID=5f0c2a8e-1b7d-4c3e-9a60-2d8f1e4b7c91

claude_start() { # source
    printf '{"session_id":"%s","transcript_path":"%s/.claude/projects/proj/%s.jsonl","cwd":"%s","permission_mode":"default","hook_event_name":"SessionStart","source":"%s"}' \
        "$SID" "$T_DIR" "$SID" "$T_DIR/proj" "$1"
}
claude_stop() { # stop_hook_active
    printf '{"session_id":"%s","transcript_path":"%s/.claude/projects/proj/%s.jsonl","cwd":"%s","permission_mode":"default","hook_event_name":"Stop","stop_hook_active":%s}' \
        "$SID" "$T_DIR" "$SID" "$T_DIR/proj" "$1"
}
codex_stop() { # session id, stop_hook_active
    printf '{"session_id":"%s","turn_id":"t-7","transcript_path":null,"cwd":"%s","hook_event_name":"Stop","model":"gpt-5-codex","stop_hook_active":%s,"last_assistant_message":"done"}' \
        "$1" "$T_DIR/proj" "$2"
}
hook() { # verb, input: runs the hook with the input on stdin
    local verb=$1 input=$2
    OUT=$(printf '%s' "$input" | "$FT" hook "$verb" 2>"$T_DIR/hook.err") || {
        echo "hook $verb exited $?: $(cat "$T_DIR/hook.err")" >&2
        return 1
    }
    ERR=$(cat "$T_DIR/hook.err")
}
decision() { echo "$OUT" | json 'd["decision"]'; }

"$FT" init >/dev/null
# a store with no tracker: nothing to say, nothing to block
hook session-start "$(claude_start startup)"
equals "$OUT" "" "session-start without a tracker"
hook stop "$(claude_stop false)"
equals "$OUT" "" "stop without a tracker"

"$FT" import "$FT_SOURCE_DIR/tests/fixtures/store-v1.txt" >/dev/null
"$FT" --actor agent-1 item claim 5 >/dev/null
"$FT" run -- true >/dev/null 2>&1

# session-start: the context
hook session-start "$(claude_start startup)"
contains "$OUT" "# Example Tracker — Streaming Endpoint Stability (tracker example-tracker-streaming-endpoint, open)"
contains "$OUT" "  5. Update this tracker before ending a work session, including failures and rollbacks."
contains "$OUT" "In progress:
  - [3] Implement deterministic cleanup"
contains "$OUT" "  - [4] Add regression tests to prevent resource leaks in future changes."
contains "$OUT" "  - [5] Document operational monitoring notes (what logs/metrics indicate a recurrence). (claimed by agent-1 at "
contains "$OUT" "Latest runs (1 in all):"
contains "$OUT" "Failing checks (fix them before you stop):
  - fix-evidence: the final fix states no evidence"
contains "$OUT" "--actor agent-5f0c2a8e"
# an old session's state file is pruned at the next session start; a recent one stays
touch -d '40 days ago' "$XDG_STATE_HOME/flowtrack/sessions/old-session.json"
touch -d '2 days ago' "$XDG_STATE_HOME/flowtrack/sessions/recent-session.json"
hook session-start "$(claude_start compact)"
contains "$OUT" "Your context was compacted"
[ ! -e "$XDG_STATE_HOME/flowtrack/sessions/old-session.json" ] || fail "an old session's state was kept"
[ -e "$XDG_STATE_HOME/flowtrack/sessions/recent-session.json" ] || fail "a recent session's state was removed"
[ -e "$XDG_STATE_HOME/flowtrack/sessions/$SID.json" ] || fail "this session's state is missing"

# stop: a rule fails (no evidence for the fix) and the session changed nothing: block
hook stop "$(claude_stop false)"
equals "$(decision)" block
reason=$(echo "$OUT" | json 'd["reason"]')
contains "$reason" "fails 2 checks"
contains "$reason" "- fix-evidence: the final fix states no evidence"
contains "$reason" "- update-before-stop: this session has not changed the tracker"
contains "$reason" "flowtrack edit --status waiting"
# the agent tries to stop again without fixing anything: same findings, let go
hook stop "$(claude_stop true)"
equals "$OUT" "" "second stop, same findings"
# a new stop later in the session (not continuing from a block): block again
hook stop "$(claude_stop false)"
equals "$(decision)" block
# the agent records a result: the session changed the tracker; one finding is left, a new set
"$FT" result add --outcome pass 'reran the reproducer' >/dev/null
hook stop "$(claude_stop true)"
equals "$(decision)" block "changed findings block again, even while continuing"
reason=$(echo "$OUT" | json 'd["reason"]')
contains "$reason" "fails 1 check of"
hook stop "$(claude_stop true)"
equals "$OUT" "" "the same single finding: let go"
# every rule holds: nothing to say
"$FT" fix --evidence 'leak test: 0 of 1000 aborted streams held a descriptor' >/dev/null
hook stop "$(claude_stop false)"
equals "$OUT" "" "rules hold"

# a failing rule, but the tracker waits for a person: let go at once
"$FT" item add 'ask the lead about the refactor' >/dev/null # progress with no run since
expect_code 1 "$FT" check
hook stop "$(claude_stop false)"
equals "$(decision)" block
"$FT" edit --status waiting >/dev/null
hook stop "$(claude_stop false)"
equals "$OUT" "" "waiting for a person"
"$FT" edit --status open >/dev/null

# Codex's Stop input, a session that never ran session-start: the checks alone
codex_stop codex-session-1 false >"$T_DIR/codex.json"
hook stop "$(cat "$T_DIR/codex.json")"
equals "$(decision)" block
reason=$(echo "$OUT" | json 'd["reason"]')
contains "$reason" "run-after-update"
hook stop "$(codex_stop codex-session-1 true)"
equals "$OUT" "" "codex: same findings"

# bad input: an error for the user, no decision, nothing written
printf 'not json' | "$FT" hook stop >"$T_DIR/o" 2>"$T_DIR/e" && fail "bad JSON accepted"
equals "$(cat "$T_DIR/o")" "" "stdout on bad input"
file_contains "$T_DIR/e" "hook: the input is not JSON"
printf '[1]' | "$FT" hook stop >"$T_DIR/o" 2>"$T_DIR/e" && fail "an array accepted"
file_contains "$T_DIR/e" "the input must be a JSON object"
expect_code 2 "$FT" hook
expect_code 2 "$FT" hook pre-tool-use
printf '{"cwd":"/nonexistent/dir"}' | "$FT" hook stop >"$T_DIR/o" 2>"$T_DIR/e" && fail "a missing cwd accepted"
file_contains "$T_DIR/e" "cannot enter the session's directory"
# an unusable session id is never a path
hook stop '{"session_id":"../../etc/x","cwd":"'"$T_DIR/proj"'","stop_hook_active":false}'
equals "$(decision)" block
[ ! -e "$T_DIR/etc" ] || fail "a session id escaped the state directory"
t_done
