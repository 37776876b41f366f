#!/usr/bin/env bash
# The README's two-minute tour runs as written: every command of its first block, in order,
# in a fresh directory, succeeds (`flowtrack check` may report findings: exit 0 or 1), and the
# runner lines of the second block are valid commands.
. "$(dirname "$0")/lib.sh"
remote_mode && skip "the tour works on a store in a fresh directory, found upward from it, and starts its own server"
unset FLOWTRACK_DB
PATH="$(dirname "$FT"):$PATH"

# The lines of the first ```sh block after "## A two-minute tour", comments stripped and
# continuation lines joined.
python3 - "$FT_SOURCE_DIR/README.md" >"$T_DIR/tour.txt" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
tour = text[text.index("## A two-minute tour"):]
block = re.search(r"```sh\n(.*?)```", tour, re.S).group(1)
joined = re.sub(r"\\\n\s*", "", block)
for line in joined.splitlines():
    line = re.sub(r"\s+#\s.*$", "", line).strip()
    if line:
        print(line)
PY
[ "$(wc -l <"$T_DIR/tour.txt")" -ge 15 ] || fail "the tour block was not found in README.md"

n=0
while IFS= read -r line; do
    case "$line" in
    "make build"*) continue ;; # built already
    "example="*) example="$FT_SOURCE_DIR/examples/sse-stream-release.txt"; continue ;;
    "mkdir -p /tmp/work && cd /tmp/work") mkdir -p "$T_DIR/work" && cd "$T_DIR/work"; continue ;;
    esac
    n=$((n + 1))
    rc=0
    eval "$line" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
    want=0
    case "$line" in "flowtrack check"*) [ $rc -le 1 ] && want=$rc ;; esac
    if [ $rc -ne $want ]; then
        sed 's/^/    /' "$T_DIR/err" >&2
        fail "tour line failed (exit $rc): $line"
    fi
done <"$T_DIR/tour.txt"
[ $n -ge 12 ] || fail "only $n tour commands ran"
[ -s "$T_DIR/work/TRACKER.md" ] && [ -s "$T_DIR/work/sse.json" ] || fail "the tour's outputs are missing"
flowtrack import --slug again "$T_DIR/work/TRACKER.md" >/dev/null || fail "TRACKER.md does not import back"

t_done
