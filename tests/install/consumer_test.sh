#!/bin/bash
# Installs chorus into a scratch root and builds an outside program against
# it with nothing but `pkg-config --cflags --libs chorus`.
set -euo pipefail
build_root=$1
consumer_src=$2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/chorus-install-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

meson install -C "$build_root" --destdir "$scratch/root" --no-rebuild --quiet >"$scratch/install.log" 2>&1 \
    || { cat "$scratch/install.log"; exit 1; }
pc=$(find "$scratch/root" -name chorus.pc | head -n1)
[ -n "$pc" ] || { echo "chorus.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR="$scratch/root"
flags=$(pkg-config --cflags --libs chorus)
echo "pkg-config --cflags --libs chorus: $flags"
# An application with flags of its own needs no CLI11 to build with chorus.
if pkg-config --print-requires chorus | grep -qi cli11; then
    echo "chorus.pc requires CLI11; only chorus-cli.pc may"; exit 1
fi
g++ -std=c++20 -o "$scratch/consumer" "$consumer_src" $flags
libdir=$(pkg-config --libs-only-L chorus | sed 's/^ *-L//; s/ .*//')
LD_LIBRARY_PATH="$libdir" "$scratch/consumer" "$scratch/data"

# examples/kv too, as an outside program would build it.
kv_src=$(dirname "$consumer_src")/../../examples/kv/kv_server.cc
g++ -std=c++20 -o "$scratch/kv" "$kv_src" $(pkg-config --cflags --libs chorus chorus-cli spdlog)
LD_LIBRARY_PATH="$libdir" "$scratch/kv" --help | head -n 1
echo "examples/kv built against the installed chorus.pc"

# examples/membership (chorus::Client) too.
membership_src=$(dirname "$consumer_src")/../../examples/membership/membership.cc
g++ -std=c++20 -o "$scratch/membership" "$membership_src" $(pkg-config --cflags --libs chorus)
LD_LIBRARY_PATH="$libdir" "$scratch/membership" --help | head -n 1
echo "examples/membership built against the installed chorus.pc"

# chorus-server's main: a program on session::Server and its front ends,
# from the installed headers alone (the way a new front door would start).
server_src=$(dirname "$consumer_src")/../../session/server/server_main.cc
g++ -std=c++20 -o "$scratch/chorus-server" "$server_src" \
    $(pkg-config --cflags --libs chorus chorus-cli spdlog)
LD_LIBRARY_PATH="$libdir" "$scratch/chorus-server" --help | head -n 1
echo "chorus-server's main built against the installed session::Server"
