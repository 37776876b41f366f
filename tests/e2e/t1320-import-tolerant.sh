#!/usr/bin/env bash
# The tolerant reader on the hand-written trackers of tests/data/tolerant/ (Markdown and
# plain text in many styles), JSON import, --strict, and bad input.
#
# For each corpus file: `flowtrack import FILE` exits 0 (warnings allowed), the progress
# counts and the facts of tests/data/tolerant/expect.txt hold, and nothing is dropped:
# every content line of the input appears in `show --format md` of the result.
#
# The content rule (content_check below). Both the input and the rendering are normalised:
# list markers (-, *, +, •, 1., 1)), checkboxes ([ ], [x]), heading hashes, quote marks,
# table pipes (each cell is checked on its own), emphasis and code markers (* _ ~ `), the
# state emoji the reader takes as markers, Markdown backslash escapes and &#32; are removed,
# and the text is lowercased and cut into words (runs of letters and digits, any script).
# Words the model holds as a state rather than as text (outcome, verdict and state words:
# pass, failed, hung, ruled out, confirmed, done, wip, ...) and the labels the rendering adds
# (evidence, note, follow up) are dropped from both. A line is content when words remain,
# and it is not a pure section heading (a synonym of docs/format.md, any level, also as a
# one-line paragraph), a code fence, a rule or a table separator; a line starting with a
# header or section label ("Owner:", "Goal::", "Reproduction command:") is checked without
# the label, as the rendering may spell the label its own way; so is a table's header row
# (the names of its columns). Lines and table cells are
# split at " · " too (several header fields on one line). A content line passes when its
# words appear, in order and next to each other, in the rendering's words.
. "$(dirname "$0")/lib.sh"

corpus="$FT_SOURCE_DIR/tests/data/tolerant"
"$FT" init >/dev/null

cat >"$T_DIR/check.py" <<'PY'
import re, sys

EMOJI = ["\u2705", "\u2714", "\u2611", "\u2713", "\U0001f504", "\U0001f6a7", "\u23f3",
         "\u231b", "\u2610", "\u2b1c", "\U0001f6ab", "\u274c", "\u2716", "\u26d4", "\u2753",
         "\u2754", "\U0001f914", "\U0001f50d", "\U0001f4a5", "\ufe0f"]
PHRASES = ["ruled out", "timed out", "in progress", "won't do", "wont do", "out of scope",
           "to do", "not started", "will not do", "not it", "root cause", "follow up",
           "follow ups", "work in progress", "up next"]
MARKERS = set("""pass passed passes passing success succeeded ok fail failed fails failing
failure hang hangs hung hanging timeout timeouts leak leaks leaked leaking crash crashes crashed
segfault segfaulted interrupted cancelled canceled aborted open unconfirmed unverified untested
testing investigating pending maybe unknown todo plausible possible rejected disproved disproven
refuted excluded eliminated false wrong dismissed no confirmed proven verified true yes done
completed complete finished fixed doing wip ongoing started active next backlog planned dropped
skipped abandoned evidence note""".split())
SECTIONS = set(l.strip() for l in open(sys.argv[3]).read().split("\n") if l.strip())
LABELS = SECTIONS | set("""title name org organisation organization company team started start
start date started on date opened created since owner owners assignee lead driver dri author
objective goal aim purpose status state command cmd run timeout expected expected failure mode
expected failure expect why it works why evidence summary fix note follow up
reproduction command""".split("\n")) | set("""title name org organisation organization company
team started start date opened created since owner owners assignee lead driver dri author
objective goal aim purpose status state command cmd run timeout expected expect why evidence
summary fix note""".split())

def key(s):
    s = s.lower()
    for e in EMOJI:
        s = s.replace(e, "")
    s = s.replace("&", " and ").replace("'", "").replace("\u2019", "")
    s = re.sub(r"^[\s#*_]*(\d+[.)])?", "", s)
    s = re.sub(r"[^\w]+", " ", s)
    return s.strip()

def words(s):
    s = s.replace("&#32;", " ").replace("&#9;", " ")
    s = re.sub(r"\\(.)", r"\1", s)
    s = s.lower()
    for e in EMOJI:
        s = s.replace(e, " ")
    for p in PHRASES:
        s = s.replace(p, " ")
    s = re.sub(r"[*_~`]", "", s)
    return [w for w in re.findall(r"\w+", s) if w not in MARKERS]

def units(line):
    s = line.rstrip("\r\n")
    t = s.strip()
    if not t or t.startswith("```") or t.startswith("~~~") or re.fullmatch(r"[-=*_ ]{3,}", t):
        return []
    if re.fullmatch(r"\|?[\s:|-]+\|?", t) and "-" in t:
        return []  # a table separator row
    t = re.sub(r"^(>\s*)+", "", t)
    t = re.sub(r"^#{1,6}\s+", "", t)
    t = re.sub(r"^([-*+\u2022]|\d+[.)])\s+", "", t)
    t = re.sub(r"^\[[ xX]\]\s*", "", t)
    parts = [c for c in t.strip("|").split("|")] if t.startswith("|") else [t]
    out = []
    for part in parts:
        for u in part.split(" \u00b7 "):
            u = u.strip()
            if key(u) in SECTIONS:
                continue  # a pure section heading
            m = re.match(r"^[*_]*([^:*]{1,40}?)[*_]*::?[*_]*(\s|$)", u)
            if m and key(m.group(1)) in LABELS:
                u = u[m.end():]
            w = words(u)
            if w:
                out.append((u, w))
    return out

def contains(hay, needle):
    n = len(needle)
    first = needle[0]
    for i, w in enumerate(hay):
        if w == first and hay[i:i + n] == needle:
            return True
    return False

src = open(sys.argv[1], encoding="utf-8").read().split("\n")
hay = words(open(sys.argv[2], encoding="utf-8").read())
fm = src and src[0].strip() == "---"
bad = 0
sep = re.compile(r"\s*\|?[\s:|-]+\|?\s*$")
for no, line in enumerate(src, 1):
    if fm and no > 1 and line.strip() == "---":
        fm = False
        continue
    if line.lstrip().startswith("|") and no < len(src) and sep.match(src[no]) and "-" in src[no]:
        continue  # a table's header row names its columns
    for text, w in units(line):
        if not contains(hay, w):
            print("line %d not in the rendering: %s" % (no, text))
            bad += 1
sys.exit(1 if bad else 0)
PY

# the section synonyms of docs/format.md, as the check normalises them
python3 - "$FT_SOURCE_DIR/docs/format.md" >"$T_DIR/sections.txt" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
part = text.split("<!-- section synonyms -->")[1].split("<!-- end -->")[0]
for row in part.split("\n"):
    if not row.startswith("|") or "---" in row:
        continue
    cells = row.strip("|").split("|")
    if len(cells) < 2:
        continue
    for s in cells[1].split(","):
        s = s.strip().strip("`").lower().replace("&", " and ").replace("'", "")
        s = re.sub(r"[^\w]+", " ", s).strip()
        if s and s != "synonyms":
            print(s)
PY
[ -s "$T_DIR/sections.txt" ] || fail "no section synonyms found in docs/format.md"

n=0
while IFS='|' read -r file counts expr; do
    case "$file" in '#'* | '') continue ;; esac
    n=$((n + 1))
    f="$corpus/$file"
    [ -f "$f" ] || fail "$file: listed in expect.txt but missing"
    expect_code 0 "$FT" import --slug "c$n" "$f"
    "$FT" show --json "c$n" >"$T_DIR/c.json"
    got=$(json '"%d %d %d %d" % (d["progress"]["done"], d["progress"]["doing"], d["progress"]["pending"], d["progress"]["dropped"])' <"$T_DIR/c.json")
    equals "$got" "$counts" "$file: progress done doing pending dropped"
    ok=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(bool(eval(sys.argv[2])))' "$T_DIR/c.json" "$expr")
    [ "$ok" = True ] || fail "$file: expected $expr; got $(cat "$T_DIR/c.json")"
    "$FT" show --format md "c$n" >"$T_DIR/c.md"
    python3 "$T_DIR/check.py" "$f" "$T_DIR/c.md" "$T_DIR/sections.txt" >"$T_DIR/lost" ||
        fail "$file: content lost: $(cat "$T_DIR/lost")"
    # the Markdown rendering of an imported tracker reads back exactly, to the same text
    "$FT" show --format md "c$n" | "$FT" import --exact --dry-run - >"$T_DIR/again.txt"
    "$FT" show --format text "c$n" | cmp -s - "$T_DIR/again.txt" ||
        fail "$file: its Markdown rendering does not read back the same"
done <"$corpus/expect.txt"
[ "$n" -ge 20 ] || fail "only $n corpus files in expect.txt"
equals "$(ls "$corpus" | grep -cv '^expect.txt$')" "$n" "corpus files listed in expect.txt"

# warnings name their line; --strict turns them into an error and writes nothing
expect_code 0 "$FT" import --dry-run "$corpus/extra-sections.md"
contains "$ERR" "warning: line 6: a heading that names no section"
before=$("$FT" list --json)
expect_code 1 "$FT" import --strict "$corpus/extra-sections.md"
contains "$ERR" "error: line 6:"
contains "$ERR" "nothing written"
equals "$("$FT" list --json)" "$before" "trackers after a refused --strict import"
# a file without warnings imports under --strict
expect_code 0 "$FT" import --strict --slug strict-ok "$corpus/done-doing-todo.md"
expect_code 0 "$FT" import --strict --dry-run "$corpus/results-table.md"
# --exact insists on the exact layout
expect_code 1 "$FT" import --exact "$corpus/done-doing-todo.md"
contains "$ERR" "line 3: expected a list item"

# bad input is refused with its line, whatever the reader, and the store stays as it was
"$FT" show --json c1 >"$T_DIR/c1.before"
before=$("$FT" list --json)
{ printf '# Title\n\n## Progress\n\n- [x] fine\n- bad \xc3'; printf '\n'; } >"$T_DIR/trunc-utf8.md"
{ printf '# Title\n\n- ok\n- \xff\xfe broken\n'; } >"$T_DIR/bad-utf8.md"
{ printf '# Title\n\n## Notes\n\n'; head -c 3000 /bin/sh; } >"$T_DIR/binary.md"
{ printf '# Title\n\n## Progress\n\n- [ ] '; head -c 10000000 /dev/zero | tr '\0' y; printf '\n'; } >"$T_DIR/longline.md"
printf '# Title\n\n- [x] a\x00b\n' >"$T_DIR/nul.md"
for mode in "" --tolerant; do
    expect_code 1 "$FT" import $mode "$T_DIR/trunc-utf8.md"
    contains "$ERR" "line 6: not valid UTF-8"
    expect_code 1 "$FT" import $mode "$T_DIR/bad-utf8.md"
    contains "$ERR" "line 4: not valid UTF-8"
    expect_code 1 "$FT" import $mode "$T_DIR/binary.md"
    contains "$ERR" "line 5"
    contains "$ERR" "is this a binary file?"
    expect_code 1 "$FT" import $mode "$T_DIR/longline.md"
    contains "$ERR" "line 5: line is 10000006 bytes"
    expect_code 1 "$FT" import $mode "$T_DIR/nul.md"
    contains "$ERR" "line 3:"
done
equals "$("$FT" list --json)" "$before" "trackers after refused input"
"$FT" show --json c1 | cmp -s - "$T_DIR/c1.before" || fail "tracker c1 changed after refused input"

# JSON: show --json imports back with everything in it (detected by content, or --format json)
"$FT" import --slug full "$FT_SOURCE_DIR/examples/sse-stream-release.txt" >/dev/null
"$FT" -t full item start 4 >/dev/null
"$FT" -t full item claim 5 >/dev/null
"$FT" -t full item remove 1 >/dev/null # numbers with a gap
"$FT" -t full hyp add 'the proxy buffers' --verdict confirmed --evidence 'seen in tcpdump' >/dev/null
"$FT" show --json full >"$T_DIR/full.json"
expect_code 0 "$FT" import --slug full2 "$T_DIR/full.json"
contains "$OUT" "from JSON"
"$FT" show --json full2 >"$T_DIR/full2.json"
json_content slug <"$T_DIR/full.json" >"$T_DIR/a.j"
json_content slug <"$T_DIR/full2.json" >"$T_DIR/b.j"
cmp -s "$T_DIR/a.j" "$T_DIR/b.j" || fail "JSON round trip differs: $(diff "$T_DIR/a.j" "$T_DIR/b.j" | head -5)"
equals "$(jget "$T_DIR/full2.json" '[i["claimed_by"] for i in d["items"] if i["claimed_by"]]')" "['tester']" "claim carried over"
# every tracker of the corpus too
for slug in c3 c9 c17 c21; do
    "$FT" show --json "$slug" >"$T_DIR/x.json"
    expect_code 0 "$FT" import --format json --slug "$slug-copy" - <"$T_DIR/x.json"
    "$FT" show --json "$slug-copy" | json_content slug >"$T_DIR/y.j"
    json_content slug <"$T_DIR/x.json" | cmp -s - "$T_DIR/y.j" || fail "$slug: JSON round trip differs"
done
# JSON errors name the line or the field; nothing is written
before=$("$FT" list --json)
printf '{\n  "title": "x",\n  "items": [\n    {"text": "a", "state": "done"},\n  ]\n}\n' >"$T_DIR/bad.json"
expect_code 1 "$FT" import "$T_DIR/bad.json"
contains "$ERR" "line 5"
printf '{"title": "x", "items": [{"text": "a", "state": "finished"}]}' >"$T_DIR/bad-state.json"
expect_code 1 "$FT" import "$T_DIR/bad-state.json"
contains "$ERR" "items[0].state"
printf '{"title": "x", "mood": "good"}' >"$T_DIR/extra.json"
expect_code 1 "$FT" import --strict "$T_DIR/extra.json"
contains "$ERR" "mood is not part of a tracker"
equals "$("$FT" list --json)" "$before" "trackers after refused JSON"
t_done
