#!/usr/bin/env bash
# Write docs/cli.md from the manual pages built into flowtrack, so that the
# reference and `--help` never disagree. Usage: scripts/gen-cli-doc.sh BIN [OUT]
set -euo pipefail
bin=$1
out=${2:-docs/cli.md}
{
    echo "# flowtrack command line"
    echo
    echo "Generated from \`flowtrack COMMAND --help\` by \`scripts/gen-cli-doc.sh\`; every page"
    echo "below is exactly what the binary prints. Conventions shared by every command:"
    echo
    echo "- **Store selection**, as git finds its repository: \`--db PATH\`, else \`FLOWTRACK_DB\`,"
    echo "  else \`.flowtrack/flowtrack.db\` found upward from the working directory (made by"
    echo "  \`flowtrack init\`)."
    echo "- **Tracker selection**: \`-t SLUG|NUMBER\`, else \`FLOWTRACK_TRACKER\`, else the default set"
    echo "  by \`flowtrack use\`, else the only tracker in the store."
    echo "- **Ids** are short and stable: a tracker's slug or number; an entry's number within its"
    echo "  tracker and kind (\`item 3\`, \`hyp 1\`), never reused after a removal."
    echo "- **Output**: every write prints what it created or changed; \`--json\` gives JSON on every"
    echo "  command, writes included. Errors go to stderr as \`flowtrack: ...\` naming what was wrong."
    echo "- **Actor**: every change is recorded with \`--actor\`, else \`FLOWTRACK_ACTOR\`, else the"
    echo "  user name. \`NO_COLOR\` or \`--no-color\` turns colour off."
    echo "- **Exit status**: 0 success; 1 failure (or \`check\` found problems); 2 usage error;"
    echo "  3 not found (store, tracker, entry). \`flowtrack run\` follows timeout(1) (docs/runner.md)."
    echo
    echo "## flowtrack"
    echo
    echo '```'
    "$bin" --help
    echo '```'
    for cmd in $("$bin" --help | awk '/^COMMANDS/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}'); do
        echo
        echo "## flowtrack $cmd"
        echo
        echo '```'
        "$bin" "$cmd" --help
        echo '```'
    done
} >"$out"
