#!/usr/bin/env bash
# A tracker with 10 000 items: every layout imports, renders and round-trips,
# and the everyday commands keep working on it (bounded waits, no timing claims:
# speed is measured by bench/cli).
. "$(dirname "$0")/lib.sh"

python3 - >"$T_DIR/big.txt" <<'PY'
print("Big tracker\n\nStarted: 2026-11-25\nOwner: tests\nObjective: scale\n\n")
print("Ground Rules for Agents\n\n  1. Keep it fast.\n\nWorkflow\n\n  1. Measure: with public tools\n\nProgress Tracker\n")
print("\u2705 Completed\n\n\U0001f504 In Progress\n\n\u23f3 Pending\n")
for i in range(1, 10001):
    print(f"  \u2022 Item {i}: *stars* and `ticks` and <angles> \u2014 caf\u00e9")
print("\n\U0001f6ab Out of Scope\n\nNotes & Follow-Ups\n")
PY
b() { timeout 60 "$@"; }
expect_code 0 b "$FT" import --slug big "$T_DIR/big.txt"
expect_code 0 b "$FT" show --format text big
printf '%s\n' "$OUT" >"$T_DIR/out.txt"
equals "$(grep -c '^  • Item ' "$T_DIR/out.txt")" "10000" "items rendered"
expect_code 0 b "$FT" import --slug big-txt "$T_DIR/out.txt"
expect_code 0 b "$FT" show --format text big-txt
printf '%s\n' "$OUT" >"$T_DIR/out1.txt"
cmp "$T_DIR/out.txt" "$T_DIR/out1.txt" || fail "10 000-item text round trip differs"
expect_code 0 b "$FT" show --format md big
printf '%s\n' "$OUT" >"$T_DIR/big.md"
expect_code 0 b "$FT" import --slug big-md "$T_DIR/big.md"
expect_code 0 b "$FT" show --format text big-md
printf '%s\n' "$OUT" >"$T_DIR/out2.txt"
cmp "$T_DIR/out.txt" "$T_DIR/out2.txt" || fail "10 000-item Markdown round trip differs"
expect_code 0 b "$FT" -t big item add 'one more'
equals "$OUT" "added item 10001"
expect_code 0 b "$FT" -t big item done 5000
expect_code 0 b "$FT" -t big item move 10001 1
expect_code 0 b "$FT" -t big --json show
equals "$(echo "$OUT" | json 'd["progress"]["done"], d["progress"]["pending"], d["items"][0]["num"]')" "1 10000 10001"
t_done
