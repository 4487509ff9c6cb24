#!/usr/bin/env bash
# The long simulator run (docs/testing.md, "The million-seed run"): seed
# ranges of zab-sim, two at a time, each into its own file, so that it can
# be stopped and started again (a range whose file says it passed is not
# run again). Prints a line per range and a summary.
#
#   tests/sim/long_run.sh build/tests/zab-sim /tmp/chorus-long-run [JOBS]
#
# The plan: 700,000 seeds with 3 servers, 200,000 with 5, 100,000 with the
# session tracker (80,000 with 3 servers, 20,000 with 5), in ranges of
# 10,000.
set -euo pipefail
sim=${1:?usage: long_run.sh ZAB_SIM OUT_DIR [JOBS]}
out=${2:?usage: long_run.sh ZAB_SIM OUT_DIR [JOBS]}
jobs=${3:-2}
mkdir -p "$out"
chunk=10000

ranges=()
add() {  # add NAME FIRST COUNT ARGS...
    local name=$1 first=$2 count=$3
    shift 3
    local s
    for ((s = first; s < first + count; s += chunk)); do
        ranges+=("$name-$s|--seeds $chunk --start $s $*")
    done
}
add three 1 700000 --servers 3
add five 1 200000 --servers 5
add sessions-three 1 80000 --servers 3 --sessions
add sessions-five 1 20000 --servers 5 --sessions

run_one() {
    local sim=$1 out=$2 spec=$3
    local name=${spec%%|*} args=${spec#*|}
    local file="$out/$name.txt"
    if [ -f "$file" ] && grep -q " passed, 0 failed" "$file"; then
        echo "$name: done before"
        return 0
    fi
    local start=$SECONDS
    # shellcheck disable=SC2086
    if "$sim" $args >"$file.part" 2>&1; then
        mv "$file.part" "$file"
        echo "$name: passed in $((SECONDS - start)) s"
    else
        mv "$file.part" "$file"
        echo "$name: FAILED — see $file"
        grep -m1 "FAILED\|assertion" "$file" || true
    fi
}
export -f run_one

began=$SECONDS
# Interleaved by first seed (three-1, five-1, sessions-three-1, ...), so that
# a run stopped part way has covered every kind.
printf '%s\n' "${ranges[@]}" |
    awk '{ match($0, /--start [0-9]+/); print substr($0, RSTART + 8, RLENGTH - 8) "\t" $0 }' |
    sort -s -n -k1,1 | cut -f2- | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ "$sim" "$out" {}

passed=0 failed=0
for f in "$out"/*.txt; do
    if grep -q " passed, 0 failed" "$f"; then
        passed=$((passed + $(grep -o "^[0-9]* passed" "$f" | grep -o "^[0-9]*")))
    else
        failed=$((failed + 1))
        echo "failed: $f"
    fi
done
echo "long run: $passed seeds passed, $failed range(s) failed, $((SECONDS - began)) s this time"
[ "$failed" -eq 0 ]
