#!/usr/bin/env bash
# chorus.sh — set up, build and run chorus on Debian 12, from a fresh clone.
#
#   ./chorus.sh run            the main job: a local 3-server groupd ensemble (docs/groupd.md)
#   ./chorus.sh kv-demo        a local 3-server ensemble of examples/kv, the key-value store
#   ./chorus.sh bench --quick  chorus against ZooKeeper on this machine (chorus-bench; see
#                              docs/benchmarks.md); install-zookeeper adds ZooKeeper to it
#   ./chorus.sh test           build everything and run every test
#   ./chorus.sh test NAME...   only the tests or suites named (unit, sim, mutation, process,
#                              install, lint; docs/testing.md lists the tests)
#   ./chorus.sh build          only install what is missing, configure and build
#   ./chorus.sh sanitize       the unit tests, in-process servers and 400 simulator seeds under
#                              AddressSanitizer and UndefinedBehaviorSanitizer, in build-asan/ (CI)
#   ./chorus.sh storage-bench  the storage benchmark (docs/benchmarks.md)
#
# Each step installs the Debian packages it needs when they are missing
# (apt-get, so as root or through sudo), configures build/ with meson the
# first time, and builds with ninja -j2. CHORUS_WERROR=1 turns warnings into
# errors (CI sets it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PACKAGES=(
    meson ninja-build g++ pkg-config ccache python3 clang-format cmake curl
    libboost-dev librocksdb-dev libprotobuf-dev protobuf-compiler
    libgtest-dev libgmock-dev libbenchmark-dev
    libspdlog-dev libfmt-dev libcli11-dev libtoml11-dev nlohmann-json3-dev libjemalloc-dev
    libssl-dev
    # Real ZooKeeper clients, which the ZooKeeper front end is tested with.
    python3-kazoo libzookeeper-mt-dev
    # The registry's monitoring is checked against a real Prometheus.
    prometheus
    # Partitions in process tests: network namespaces and nftables rules.
    iproute2 nftables
    # ps, with which the cluster scripts tell a zombie from a live process.
    procps
)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

install_missing() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing missing Debian packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "chorus.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

configure() {
    local werror=false
    [ "${CHORUS_WERROR:-0}" = 1 ] && werror=true
    if [ ! -f build/build.ninja ]; then
        say "configuring build/ (meson, werror=$werror)"
        meson setup build -Dwerror="$werror"
    else
        meson configure build -Dwerror="$werror" >/dev/null
    fi
}

build() {
    install_missing
    configure
    say "building (ninja -j2)"
    ninja -C build -j2
}

# Prints "N passed, N failed" from meson's machine-readable test log.
test_summary() {
    python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    result = json.loads(line).get("result")
    if result in ("OK", "EXPECTEDFAIL"): passed += 1
    elif result == "SKIP": skipped += 1
    else: failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
}

# run_tests [NAME-OR-SUITE...]: every test, or those named: a suite name
# (meson test --suite) or a test's own name.
run_tests() {
    build
    local selection=() name
    if [ $# -gt 0 ]; then
        local suites tests
        suites=$(meson introspect --tests build | python3 -c \
            'import json,sys; print(" ".join(sorted({s.split(":")[-1] for t in json.load(sys.stdin) for s in t["suite"]})))')
        tests=$(meson introspect --tests build | python3 -c \
            'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))')
        for name in "$@"; do
            if [[ " $suites " == *" $name "* ]]; then
                selection+=(--suite "$name")
            elif [[ " $tests " == *" $name "* ]]; then
                selection+=("$name")
            else
                echo "chorus.sh test: no test or suite is called '$name'" >&2
                echo "  suites: $suites" >&2
                echo "  tests:  $tests" >&2
                exit 2
            fi
        done
        say "running $* (meson test)"
    else
        say "running every test (meson test)"
    fi
    local rc=0
    meson test -C build --print-errorlogs --num-processes 2 "${selection[@]}" || rc=$?
    test_summary || true
    return $rc
}

run_main() {
    build
    cat <<'TXT'

chorus replicates a state machine over a small ensemble of servers with the
Zab protocol, and keeps sessions, heartbeats and group membership on top.
This runs groupd — group membership over HTTP, built on chorus — as three
real server processes on this machine: members join, one goes silent and is
dropped, the leader is killed and the others carry on. Then chorus-bench
measures chorus against ZooKeeper (when installed) on this machine.
First, the master registry: HBase-style masters that are their own quorum.

TXT
    bash examples/registry/demo.sh
    echo
    python3 examples/groupd/demo.py build/examples/groupd build/examples/chorusctl \
        build/bench/chorus-bench --quick
}

# The unit tests and a few hundred simulator seeds under ASan and UBSan, in
# a build directory of their own. Any report fails the step (UBSan is told
# to halt on the first).
# What the unit suite runs is read off meson (every unit test's program), so
# a new unit test is built here too; the simulator and the in-process
# servers are named.
SANITIZED_EXTRA=(tests/zab-sim tests/session-server-tests tests/node-signals-tests)
unit_test_targets() {  # unit_test_targets BUILD_DIR
    meson introspect "$1" --tests | python3 -c '
import json, os, sys
build = os.path.abspath(sys.argv[1])
for t in json.load(sys.stdin):
    program = t["cmd"][0]
    if any(s.split(":")[-1] == "unit" for s in t["suite"]) and program.startswith(build + "/"):
        print(os.path.relpath(program, build))
' "$1" | sort -u
}
run_sanitized() {
    install_missing
    local werror=false
    [ "${CHORUS_WERROR:-0}" = 1 ] && werror=true
    if [ ! -f build-asan/build.ninja ]; then
        say "configuring build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer)"
        meson setup build-asan -Db_sanitize=address,undefined \
            -Dbenchmarks=false -Dwerror="$werror"
    else
        meson configure build-asan -Dwerror="$werror" >/dev/null
    fi
    say "building the unit tests and the simulator with sanitizers (ninja -j2)"
    local targets
    mapfile -t targets < <(unit_test_targets build-asan)
    [ ${#targets[@]} -gt 0 ] || { echo "chorus.sh: meson lists no unit tests in build-asan" >&2; exit 1; }
    ninja -C build-asan -j2 "${targets[@]}" "${SANITIZED_EXTRA[@]}"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    say "unit tests under the sanitizers"
    meson test -C build-asan --no-rebuild --suite unit --print-errorlogs --num-processes 2
    say "in-process servers under the sanitizers (a Node and a session::Server on 127.0.0.1)"
    meson test -C build-asan --no-rebuild --print-errorlogs session-server node-leaves-signals-alone
    say "simulator seeds under the sanitizers"
    build-asan/tests/zab-sim --seeds 250 --start 1 --servers 3
    build-asan/tests/zab-sim --seeds 60 --start 1 --servers 5
    build-asan/tests/zab-sim --seeds 90 --start 1 --servers 3 --sessions
}

# The first main job: three servers of examples/kv, a replicated key-value store.
run_kv_demo() {
    build
    python3 examples/kv/demo.py build/examples/kv
}

# chorus-bench: chorus and ZooKeeper side by side (docs/benchmarks.md).
# ZooKeeper is measured when installed; `./chorus.sh install-zookeeper`
# installs it (and its C client, which chorus-bench is then rebuilt with).
run_bench() {
    build
    build/bench/chorus-bench "$@"
}

# Configures an existing build directory again from scratch, after packages
# were installed. (meson keeps the result of a library or header check it
# made before, even through --reconfigure and --clearcache: a library found
# missing once stays missing. --wipe keeps the options and forgets the rest;
# ccache makes the rebuild cheap. tests/install/refresh_test.sh proves it.)
#   refresh_configuration BUILD_DIR [SOURCE_DIR (default: this checkout)]
refresh_configuration() {
    local dir=$1 src=${2:-.}
    [ -f "$dir/build.ninja" ] || return 0
    say "configuring $dir again, to see the packages just installed"
    meson setup --wipe "$dir" "$src" >/dev/null
}

install_zookeeper() {
    PACKAGES+=(zookeeper zookeeper-bin libzookeeper-mt-dev default-jre-headless gnuplot-nox)
    install_missing
    # meson looks for the C client when it configures: look again.
    refresh_configuration build
    build
}

run_storage_bench() {
    build
    build/bench/storage-bench
}

# Sourced (by tests/install/refresh_test.sh), only the functions are wanted.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

case "${1:-}" in
    run) run_main ;;
    bench) shift; run_bench "$@" ;;
    install-zookeeper) install_zookeeper ;;
    kv-demo) run_kv_demo ;;
    storage-bench) run_storage_bench ;;
    test) shift; run_tests "$@" ;;
    build) build ;;
    sanitize) run_sanitized ;;
    *) echo "usage: $0 run|test [NAME-OR-SUITE...]|build|sanitize|bench [--quick ...]|install-zookeeper|kv-demo|storage-bench" >&2; exit 2 ;;
esac
