#!/usr/bin/env bash
# rolling-restart.sh: restarts every process of the cluster in REGISTRY_DIR,
# one at a time, each ready again before the next goes: the standby masters
# first, the active one last (so there is one handover), then the region
# servers (each deregisters and registers again under a new start code).
set -euo pipefail
. "$(dirname "$0")/common.sh"
load_cluster
for i in $(masters_standbys_first); do
    say "master $i ($(master_state "$i")): restarting"
    stop_pid "$REGISTRY_DIR/master-$i.pid" 15
    start_master "$i"
    wait_ready "$(master_http "$i")" 30 || die "master $i is not ready again after 30 s"
    say "master $i ready ($(master_state "$i"))"
done
for j in $(seq 1 "$SERVERS"); do
    stop_pid "$REGISTRY_DIR/server-$j.pid" 40
    start_server "$j"
    wait_ready "$(server_http "$j")" 30 || die "region server $j is not ready again after 30 s"
    say "region server $j registered again"
done
say "rolled $MASTERS master(s) and $SERVERS region server(s)"
