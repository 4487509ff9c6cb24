#!/usr/bin/env bash
# `./chorus.sh install-zookeeper` on a machine configured before must make
# the build see ZooKeeper's C client (issue 14: it did not, because meson
# kept its earlier "not found" through --reconfigure).
#
# A small meson project looks for a library and header the way
# bench/meson.build looks for libzookeeper_mt, but for a library of the
# test's own, in a directory of its own (not ZooKeeper's: a machine with
# ZooKeeper's client installed would find that one at once). It is configured while they are missing, then they are made,
# then chorus.sh's refresh_configuration runs on the build directory: the
# library must now be found.
#
#   refresh_test.sh SOURCE_ROOT
set -euo pipefail
root=$(cd "${1:?usage: refresh_test.sh SOURCE_ROOT}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src" "$work/fake/include/chorus_refresh_probe" "$work/fake/lib"
cat >"$work/src/meson.build" <<'MESON'
project('refresh-probe', 'c')
cc = meson.get_compiler('c')
fake = get_option('fake')
zk = cc.find_library('chorus_refresh_probe', required: false, dirs: [fake / 'lib'],
  has_headers: ['chorus_refresh_probe/probe.h'],
  header_include_directories: include_directories(fake / 'include'))
message('probe: zookeeper client ' + (zk.found() ? 'found' : 'missing'))
MESON
echo "option('fake', type: 'string', value: '')" >"$work/src/meson_options.txt"

probe() { grep -o 'probe: zookeeper client [a-z]*' "$1" | tail -1; }

meson setup "$work/build" "$work/src" -Dfake="$work/fake" >"$work/first.log" 2>&1
[ "$(probe "$work/first.log")" = "probe: zookeeper client missing" ] || {
    echo "FAIL: the probe found a library that is not there yet"; cat "$work/first.log"; exit 1; }

# "Install" the client: a header and a shared library with one symbol.
echo 'int zoo_probe(void);' >"$work/fake/include/chorus_refresh_probe/probe.h"
echo 'int zoo_probe(void) { return 0; }' >"$work/z.c"
cc -shared -fPIC -o "$work/fake/lib/libchorus_refresh_probe.so" "$work/z.c"

# shellcheck source=/dev/null
source "$root/chorus.sh"
refresh_configuration "$work/build" "$work/src" >"$work/second.log" 2>&1
cat "$work/build/meson-logs/meson-log.txt" >>"$work/second.log"
if [ "$(probe "$work/second.log")" != "probe: zookeeper client found" ]; then
    echo "FAIL: after refresh_configuration the build still does not see the library"
    tail -20 "$work/second.log"
    exit 1
fi
echo "refresh_configuration: a library installed after the first configure is found"
