#!/usr/bin/env bash
# Every C file is formatted with the repository's .clang-format.
. "$(dirname "$0")/lib.sh"

command -v clang-format >/dev/null || fail "clang-format is not installed"
cd "$FT_SOURCE_DIR"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src tests bench -name '*.[ch]')
if ! clang-format --dry-run --Werror $files 2>"$T_DIR/fmt.log"; then
    head -20 "$T_DIR/fmt.log" >&2
    fail "files are not clang-formatted: run 'make format'"
fi
t_done
