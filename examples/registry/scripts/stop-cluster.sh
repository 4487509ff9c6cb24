#!/usr/bin/env bash
# stop-cluster.sh: stops the cluster in REGISTRY_DIR gracefully: the region
# servers first (each deregisters, then drains its work), then the masters,
# standbys first and the active one last. The data stays.
set -euo pipefail
. "$(dirname "$0")/common.sh"
load_cluster
for j in $(seq 1 "$SERVERS"); do stop_pid "$REGISTRY_DIR/server-$j.pid" 40 & done
wait
say "region servers stopped"
for i in $(masters_standbys_first); do
    stop_pid "$REGISTRY_DIR/master-$i.pid" 15
    say "master $i stopped"
done
for i in $(seq 1 "$MASTERS"); do stop_pid "$REGISTRY_DIR/master-$i.pid" 15; done
