#!/bin/bash
# Fails when a C++ file of ours is not formatted as .clang-format says.
# Fix with: clang-format -i <file>
set -euo pipefail
cd "$1"
# Every directory of ours: all but build trees (anything with a meson-info/
# inside) and hidden ones.
dirs=()
for d in */; do
    d=${d%/}
    [ -d "$d/meson-info" ] || [ "${d#.}" != "$d" ] || dirs+=("$d")
done
mapfile -t files < <(find "${dirs[@]}" \( -name '*.h' -o -name '*.cc' \) -not -path '*/meson-info/*' | sort)
clang-format --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files formatted as .clang-format asks"
