#!/usr/bin/env bash
# The master registry's part of the main job (./chorus.sh run): three
# HBase-style masters that are their own chorus ensemble, three region
# servers registering through them, lookups, and a killed active master
# replaced by a standby. Told in words; about fifteen seconds.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export REGISTRY_DIR=$(mktemp -d /tmp/chorus-registry-demo-XXXXXX)
# A base port with the 700 ports above it free enough: the ones used are
# checked.
export REGISTRY_PORT=$(python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    base = random.randrange(20000, 30000, 1000)
    if all(free(base + off + i) for off in range(0, 700, 100) for i in range(1, 4)):
        print(base); break
PY
)
. "$HERE/scripts/common.sh"
ADMIN="$REGISTRY_BIN/registry-admin"
cleanup() {
    bash "$HERE/scripts/stop-cluster.sh" >/dev/null 2>&1 || true
    rm -rf "$REGISTRY_DIR"
}
trap cleanup EXIT

cat <<TXT
== The master registry (HBase-style masters that are their own quorum)
Three registry-master processes form a chorus ensemble among themselves; no
ZooKeeper runs anywhere. Each runs for active master on /hbase/master, and
the others stand by. Three stand-in region servers register as ephemeral
/hbase/rs/<host,port,startcode> nodes. Every master, active or not, answers
lookups from its own cache of /hbase.

TXT
bash "$HERE/scripts/start-cluster.sh" 3 3
load_cluster
MASTERS_LIST=$(lookup_list)
echo
say "registry-admin --masters $MASTERS_LIST list-masters"
"$ADMIN" --masters "$MASTERS_LIST" list-masters
echo
say "registry-admin list-servers"
"$ADMIN" --masters "$MASTERS_LIST" list-servers
echo
say "the cluster id, made once by the first master: $("$ADMIN" --masters "$MASTERS_LIST" cluster-id)"
"$ADMIN" --masters "$MASTERS_LIST" set-meta "127.0.0.1,$(server_port 1),1" --expected-version -1 |
    sed 's/^/    set-meta: /'
"$ADMIN" --masters "$MASTERS_LIST" set-meta "127.0.0.1,$(server_port 2),1" --expected-version -1 \
    2>&1 | sed 's/^/    a second set-meta expecting none: /' || true
echo
active=$(masters_standbys_first | tail -1)
say "SIGKILL the active master (master $active); a standby takes over once its session expires"
before=$("$ADMIN" --masters "$MASTERS_LIST" active-master)
kill -KILL "$(cat "$REGISTRY_DIR/master-$active.pid")"
start_ms=$(date +%s%3N)
while now=$("$ADMIN" --masters "$MASTERS_LIST" --timeout-ms 2000 active-master 2>/dev/null) &&
    [ "$now" = "$before" ]; do
    sleep 0.02
done
say "new active master $now, seen by a client $(( $(date +%s%3N) - start_ms )) ms after the kill"
echo
say "registry-admin check-health (exit status 1: one master is down)"
"$ADMIN" --masters "$MASTERS_LIST" --timeout-ms 1000 check-health || echo "    (exit status $?)"
start_master "$active"
wait_ready "$(master_http "$active")" 30
say "master $active restarted from its data: it stands by ($(master_state "$active"))"
echo
say "stopping: region servers deregister and drain, then the masters (standbys first)"
bash "$HERE/scripts/stop-cluster.sh"
echo "The walkthrough is docs/registry.md."
