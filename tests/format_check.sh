#!/bin/bash
# Fails when a C++ file of ours is not formatted as .clang-format says.
# Fix with: clang-format -i <file>
set -euo pipefail
cd "$1"
files=$(find zab session storage examples bench tests -name '*.h' -o -name '*.cc' 2>/dev/null | sort)
clang-format --dry-run --Werror $files
echo "clang-format: $(echo "$files" | wc -l) files formatted as .clang-format asks"
