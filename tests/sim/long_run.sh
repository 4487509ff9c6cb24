#!/usr/bin/env bash
# The long simulator run (docs/testing.md, "The long run"): seed ranges of
# zab-sim, two at a time, each into its own file, so that it can be stopped
# and started again (a range whose file says it passed is not run again).
# Prints a line per range and a summary.
#
#   tests/sim/long_run.sh [--ledger FILE --commit C] ZAB_SIM OUT_DIR [JOBS]
#
# With --ledger, every range that passes is also appended to FILE (one line
# each, see tests/sim/long_run_ledger.txt), under a key naming the sources
# the binary was built from: the trees of zab/ and tests/sim/ at commit C
# (which must be the commit ZAB_SIM was built from), and for the session
# kinds session/ too, but for its server/ and zookeeper/, which zab-sim does
# not link. A range the ledger already holds under the same key
# is not run again. Machines here are reset between sessions and OUT_DIR
# with them; the ledger is committed, so the run goes on where it stopped.
#
# The plan: 700,000 seeds with 3 servers, 200,000 with 5, 100,000 with the
# session tracker (80,000 with 3 servers, 20,000 with 5), 100,000 with
# membership changes (80,000 with 3 voters and 2 observers, 20,000 with 5
# and 2), in ranges of 10,000. KINDS (a space-separated list of names:
# three five sessions-three sessions-five reconfig-three reconfig-five)
# runs only those.
set -euo pipefail
ledger="" commit=""
while [ $# -gt 0 ]; do
    case $1 in
        --ledger) ledger=${2:?--ledger FILE}; shift 2 ;;
        --commit) commit=${2:?--commit C}; shift 2 ;;
        *) break ;;
    esac
done
usage="usage: long_run.sh [--ledger FILE --commit C] ZAB_SIM OUT_DIR [JOBS]"
sim=${1:?$usage}
out=${2:?$usage}
jobs=${3:-2}
if [ -n "$ledger" ] && [ -z "$commit" ]; then
    echo "long_run.sh: --ledger needs --commit (the commit ZAB_SIM was built from)" >&2
    exit 2
fi
mkdir -p "$out"
chunk=10000

# The key of a kind: a hash of the sources its seeds ran, at $commit. This
# script, the ledger and the servers' front ends are left out, so that
# editing them starts nothing again.
key_of() {  # key_of PATH...
    git ls-tree -r "$commit" -- "$@" |
        grep -v -e 'tests/sim/long_run\.sh$' -e 'tests/sim/long_run_ledger\.txt$' \
            -e $'\tsession/server/' -e $'\tsession/zookeeper/' |
        git hash-object --stdin | cut -c1-12
}
core_key="" session_key=""
if [ -n "$ledger" ]; then
    top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
    git -C "$top" rev-parse --verify -q "$commit^{commit}" >/dev/null ||
        { echo "long_run.sh: no commit $commit" >&2; exit 2; }
    core_key=$(cd "$top" && key_of zab tests/sim)
    session_key=$(cd "$top" && key_of zab tests/sim session)
    touch "$ledger"
    echo "ledger $ledger: key $core_key (zab, tests/sim), $session_key (and session) at $commit"
fi

ranges=()
add() {  # add NAME KEY FIRST COUNT ARGS...
    local name=$1 key=$2 first=$3 count=$4
    shift 4
    if [ -n "${KINDS:-}" ] && [[ " $KINDS " != *" $name "* ]]; then return; fi
    local s
    for ((s = first; s < first + count; s += chunk)); do
        ranges+=("$name-$s|$key|--seeds $chunk --start $s $*")
    done
}
add three "$core_key" 1 700000 --servers 3
add five "$core_key" 1 200000 --servers 5
add sessions-three "$session_key" 1 80000 --servers 3 --sessions
add sessions-five "$session_key" 1 20000 --servers 5 --sessions
# The membership kinds with every change a running ensemble sees: changes
# forwarded by followers and observers, and leadership transfers.
add reconfig-three "$core_key" 1 80000 --servers 3 --observers 2 --reconfig --forwarded-changes --transfer
add reconfig-five "$core_key" 1 20000 --servers 5 --observers 2 --reconfig --forwarded-changes --transfer

run_one() {
    local sim=$1 out=$2 ledger=$3 commit=$4 spec=$5
    local name=${spec%%|*} rest=${spec#*|}
    local key=${rest%%|*} args=${rest#*|}
    local file="$out/$name.txt"
    if [ -f "$file" ] && grep -q " passed, 0 failed" "$file"; then
        echo "$name: done before"
        return 0
    fi
    if [ -n "$ledger" ] && grep -q "^$key $name " "$ledger"; then
        echo "$name: in the ledger"
        return 0
    fi
    local start=$SECONDS
    # shellcheck disable=SC2086
    if "$sim" $args >"$file.part" 2>&1; then
        mv "$file.part" "$file"
        echo "$name: passed in $((SECONDS - start)) s"
        if [ -n "$ledger" ]; then
            local seeds
            seeds=$(grep -o "^[0-9]* passed" "$file" | grep -o "^[0-9]*")
            # One short line, appended whole (O_APPEND), so parallel ranges
            # never interleave.
            printf '%s %s %s passed %ss %s %s\n' "$key" "$name" "$seeds" \
                "$((SECONDS - start))" "$(date -u +%F)" "$commit" >>"$ledger"
        fi
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
    sort -s -n -k1,1 | cut -f2- |
    xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ "$sim" "$out" "$ledger" "$commit" {}

# The summary: every range of the plan, passed (in OUT_DIR or the ledger),
# failed, or not run.
passed=0 failed=0 missing=0
for spec in "${ranges[@]}"; do
    name=${spec%%|*} rest=${spec#*|}
    key=${rest%%|*}
    f="$out/$name.txt"
    if [ -f "$f" ] && grep -q " passed, 0 failed" "$f"; then
        passed=$((passed + $(grep -o "^[0-9]* passed" "$f" | grep -o "^[0-9]*")))
    elif [ -n "$ledger" ] && line=$(grep -m1 "^$key $name " "$ledger"); then
        passed=$((passed + $(echo "$line" | cut -d' ' -f3)))
    elif [ -f "$f" ]; then
        failed=$((failed + 1))
        echo "failed: $f"
    else
        missing=$((missing + 1))
    fi
done
echo "long run: $passed seeds passed, $failed range(s) failed, $missing not run," \
    "$((SECONDS - began)) s this time"
[ "$failed" -eq 0 ] && [ "$missing" -eq 0 ]
