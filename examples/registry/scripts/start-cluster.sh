#!/usr/bin/env bash
# start-cluster.sh N [SERVERS]: starts N registry masters (their own chorus
# ensemble) and SERVERS region servers (default 3) on 127.0.0.1, and waits
# until every one is ready. Run again on the same REGISTRY_DIR, it starts
# only what is not running (a master keeps its data). See common.sh for the ports and directories,
# docs/registry.md for a walkthrough.
set -euo pipefail
. "$(dirname "$0")/common.sh"
MASTERS=${1:?usage: start-cluster.sh N [SERVERS]}
SERVERS=${2:-3}
[ "$MASTERS" -ge 1 ] && [ "$MASTERS" -le 7 ] || die "N must be 1-7 (masters)"
[ -x "$REGISTRY_BIN/registry-master" ] || die "no $REGISTRY_BIN/registry-master (./chorus.sh build)"
mkdir -p "$REGISTRY_DIR"
if [ -f "$REGISTRY_DIR/cluster.env" ]; then
    (. "$REGISTRY_DIR/cluster.env"; [ "$MASTERS" = "$1" ]) ||
        die "$REGISTRY_DIR holds a cluster of another size; stop it and remove the directory"
fi
echo "MASTERS=$MASTERS SERVERS=$SERVERS" >"$REGISTRY_DIR/cluster.env"
for i in $(seq 1 "$MASTERS"); do
    running "$REGISTRY_DIR/master-$i.pid" || start_master "$i"
done
for i in $(seq 1 "$MASTERS"); do
    wait_ready "$(master_http "$i")" 30 ||
        die "master $i is not ready after 30 s; see $REGISTRY_DIR/master-$i.log"
done
say "$MASTERS master(s) ready: lookups on $(lookup_list)"
for j in $(seq 1 "$SERVERS"); do running "$REGISTRY_DIR/server-$j.pid" || start_server "$j"; done
for j in $(seq 1 "$SERVERS"); do
    wait_ready "$(server_http "$j")" 30 ||
        die "region server $j is not ready after 30 s; see $REGISTRY_DIR/server-$j.log"
done
say "$SERVERS region server(s) registered"
