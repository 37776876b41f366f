#!/usr/bin/env bash
# `flowtrack setup claude|codex`: merges the two hooks into the project's settings, keeps every
# other key and hook, changes nothing when run again, --dry-run writes nothing, --remove gives
# back the settings as they were, and a file it cannot read as settings is left untouched.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "setup writes the agent's settings file; it never talks to a store"

P=$T_DIR/proj
mkdir -p "$P/.claude"
cat >"$P/.claude/settings.json" <<'EOF'
{
  "permissions": {"allow": ["Bash(make test:*)"], "deny": ["Read(./.env)"]},
  "env": {"FLOWTRACK_ACTOR": "claude"},
  "hooks": {
    "Stop": [{"hooks": [{"type": "command", "command": "./scripts/lint.sh", "timeout": 60}]}],
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh"}]}]
  },
  "model": "opus"
}
EOF
chmod 600 "$P/.claude/settings.json"
cp "$P/.claude/settings.json" "$T_DIR/original.json"
S=$P/.claude/settings.json
ours() { # the flowtrack hooks in settings file $1, as "Event:verb" lines
    jget "$1" '"\n".join(sorted("%s:%s" % (ev, h["command"].split()[-1]) for ev, gs in d.get("hooks", {}).items() for g in gs for h in g["hooks"] if " hook " in h["command"] and "flowtrack" in h["command"]))'
}
others() { # everything but flowtrack's hooks
    python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for ev, gs in list(d.get("hooks", {}).items()):
    for g in gs:
        g["hooks"] = [h for h in g["hooks"] if not (" hook " in h["command"] and "flowtrack" in h["command"])]
    d["hooks"][ev] = [g for g in gs if g["hooks"]]
    if not d["hooks"][ev]:
        del d["hooks"][ev]
print(json.dumps(d, sort_keys=True))
EOF
}

# --dry-run: a diff, nothing written
expect_code 0 "$FT" setup claude --dry-run -C "$P"
contains "$OUT" "--- a/$P/.claude/settings.json"
contains "$OUT" "+            \"command\": \"$FT hook session-start\","
contains "$OUT" '+        "matcher": "startup|resume|clear|compact",'
cmp -s "$S" "$T_DIR/original.json" || fail "--dry-run wrote the file"

# install: both hooks, every other setting kept, the mode kept
expect_code 0 "$FT" setup claude -C "$P"
equals "$OUT" "$P/.claude/settings.json: installed the session-start and stop hooks"
equals "$(ours "$S" | tr '\n' ' ')" "SessionStart:session-start Stop:stop "
equals "$(others "$S")" "$(others "$T_DIR/original.json")" "the settings besides flowtrack's hooks"
equals "$(jget "$S" 'd["hooks"]["Stop"][0]["hooks"][0]["command"]')" "./scripts/lint.sh" "the user's Stop hook stays first"
equals "$(jget "$S" '[g.get("matcher") for g in d["hooks"]["SessionStart"]]')" "['startup|resume|clear|compact']"
equals "$(jget "$S" 'd["hooks"]["Stop"][1]["hooks"][0]["timeout"]')" 30
equals "$(stat -c %a "$S")" 600 "file mode"

# again: nothing changes, byte for byte
cp "$S" "$T_DIR/installed.json"
expect_code 0 "$FT" setup claude -C "$P"
equals "$OUT" "$P/.claude/settings.json: already up to date"
cmp -s "$S" "$T_DIR/installed.json" || fail "a second setup changed the file"
expect_code 0 "$FT" setup claude -C "$P" --dry-run
equals "$OUT" "$P/.claude/settings.json: no change"

# an older install (another path to flowtrack, a timeout the user raised) is updated in place
python3 - "$S" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
h = d["hooks"]["Stop"][1]["hooks"][0]
h["command"] = "/opt/old/bin/flowtrack hook stop"
h["timeout"] = 90
d["hooks"]["Stop"].append({"hooks": [{"type": "command", "command": "flowtrack hook stop"}]})
json.dump(d, open(sys.argv[1], "w"), indent=2)
EOF
expect_code 0 "$FT" setup claude -C "$P"
equals "$(ours "$S" | tr '\n' ' ')" "SessionStart:session-start Stop:stop " "one hook per event after an update"
equals "$(jget "$S" '"%s %s" % (d["hooks"]["Stop"][1]["hooks"][0]["command"], d["hooks"]["Stop"][1]["hooks"][0]["timeout"])')" \
    "$FT hook stop 90" "updated in place, the user's timeout kept"

# --remove: the settings as they were
expect_code 0 "$FT" setup claude -C "$P" --remove
equals "$OUT" "$P/.claude/settings.json: removed the session-start and stop hooks"
equals "$(jget "$S" 'json.dumps(d, sort_keys=True)')" "$(jget "$T_DIR/original.json" 'json.dumps(d, sort_keys=True)')" \
    "the settings after --remove"
expect_code 0 "$FT" setup claude -C "$P" --remove
equals "$OUT" "$P/.claude/settings.json: already without flowtrack's hooks"

# codex: .codex/hooks.json, made when missing; removing leaves an empty object
expect_code 0 "$FT" setup codex -C "$P"
equals "$(ours "$P/.codex/hooks.json" | tr '\n' ' ')" "SessionStart:session-start Stop:stop "
expect_code 0 "$FT" setup codex -C "$P" --remove
equals "$(cat "$P/.codex/hooks.json")" "{}"
mkdir -p "$T_DIR/empty"
expect_code 0 "$FT" setup codex -C "$T_DIR/empty" --remove
[ ! -e "$T_DIR/empty/.codex" ] || fail "--remove created a file"

# files it cannot read as settings are left as they are
printf '{"hooks": [1, 2]}\n' >"$S"
expect_code 1 "$FT" setup claude -C "$P"
contains "$ERR" '"hooks" is not an object: left as it is'
printf '{"permissions": \n' >"$S"
expect_code 1 "$FT" setup claude -C "$P"
contains "$ERR" "is not a JSON object"
equals "$(cat "$S")" '{"permissions": ' "a broken file stays untouched"
expect_code 2 "$FT" setup
expect_code 2 "$FT" setup cursor
expect_code 2 "$FT" setup claude extra
t_done
