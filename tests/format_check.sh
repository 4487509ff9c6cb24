#!/bin/bash
# Fails when a C++ file of ours is not formatted as .clang-format says.
# Fix with: clang-format -i <file>
set -euo pipefail
cd "$1"
dirs=()
for d in zab session storage examples bench tests; do [ -d "$d" ] && dirs+=("$d"); done
mapfile -t files < <(find "${dirs[@]}" \( -name '*.h' -o -name '*.cc' \) | sort)
clang-format --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files formatted as .clang-format asks"
