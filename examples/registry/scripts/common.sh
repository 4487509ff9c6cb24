# Shared by the registry's cluster scripts (start-cluster.sh,
# stop-cluster.sh, rolling-restart.sh): where the cluster lives, its ports,
# and how to wait for a process. Sourced, not run.
#
# REGISTRY_DIR   the cluster's directory: data, logs, PIDs (default
#                /tmp/chorus-registry)
# REGISTRY_BIN   where registry-master and registry-server are (default:
#                this checkout's build/examples)
# REGISTRY_PORT  the first port (default 16000). Master i: lookups PORT+i,
#                HTTP PORT+100+i, client protocol PORT+200+i, peers
#                PORT+300+i, ZooKeeper PORT+400+i. Region server j: PORT+500+j,
#                its HTTP PORT+600+j.
REGISTRY_DIR=${REGISTRY_DIR:-/tmp/chorus-registry}
REGISTRY_BIN=${REGISTRY_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build/examples}
REGISTRY_PORT=${REGISTRY_PORT:-16000}

say() { echo "[$(date +%H:%M:%S)] $*"; }
die() { echo "$(basename "$0"): $*" >&2; exit 1; }

master_lookups() { echo $((REGISTRY_PORT + $1)); }
master_http() { echo $((REGISTRY_PORT + 100 + $1)); }
master_client() { echo $((REGISTRY_PORT + 200 + $1)); }
master_peer() { echo $((REGISTRY_PORT + 300 + $1)); }
master_zookeeper() { echo $((REGISTRY_PORT + 400 + $1)); }
server_port() { echo $((REGISTRY_PORT + 500 + $1)); }
server_http() { echo $((REGISTRY_PORT + 600 + $1)); }

# The cluster's shape, written by start-cluster.sh.
load_cluster() {
    [ -f "$REGISTRY_DIR/cluster.env" ] || die "no cluster in $REGISTRY_DIR (start-cluster.sh makes one)"
    # shellcheck disable=SC1091
    . "$REGISTRY_DIR/cluster.env"
}

# alive PID: the process runs. A zombie (exited, not yet reaped: the
# scripts' children are orphans, and in a container PID 1 may reap them
# late, seen here at about 2 s) counts as stopped.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

running() { [ -f "$1" ] && alive "$(cat "$1")"; }

# wait_ready PORT SECONDS: until GET /ready on 127.0.0.1:PORT answers 200.
wait_ready() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt "$deadline" ]; do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ready")" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

# stop_pid PIDFILE SECONDS: SIGTERM, wait for the exit, SIGKILL after.
stop_pid() {
    running "$1" || { rm -f "$1"; return 0; }
    local pid deadline=$((SECONDS + $2))
    pid=$(cat "$1")
    kill -TERM "$pid"
    while alive "$pid" && [ $SECONDS -lt "$deadline" ]; do sleep 0.05; done
    if alive "$pid"; then
        say "pid $pid did not stop within $2 s; killing it"
        kill -KILL "$pid"
    fi
    rm -f "$1"
}

# The state a master reports on /health: active, backup or starting.
master_state() {
    curl -s "http://127.0.0.1:$(master_http "$1")/health" |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get("state","?"))' 2>/dev/null ||
        echo down
}

# Masters in the order a graceful stop or a roll takes them: the standbys
# first, the active one last (one handover, not one per master).
masters_standbys_first() {
    local i active=
    for i in $(seq 1 "$MASTERS"); do
        if [ "$(master_state "$i")" = active ]; then active=$i; else echo "$i"; fi
    done
    [ -n "$active" ] && echo "$active"
}

start_master() {  # start_master I
    local i=$1 peers= j bootstrap=
    for j in $(seq 1 "$MASTERS"); do peers+="${peers:+,}$j=127.0.0.1:$(master_peer "$j")"; done
    # --bootstrap only for a new ensemble's first start.
    [ -d "$REGISTRY_DIR/master-$i" ] || bootstrap=--bootstrap
    setsid "$REGISTRY_BIN/registry-master" --id "$i" --peers "$peers" \
        --data-dir "$REGISTRY_DIR/master-$i" \
        --registry "127.0.0.1:$(master_lookups "$i")" --http "127.0.0.1:$(master_http "$i")" \
        --client "127.0.0.1:$(master_client "$i")" \
        --zookeeper "127.0.0.1:$(master_zookeeper "$i")" $bootstrap \
        >>"$REGISTRY_DIR/master-$i.log" 2>&1 </dev/null &
    echo $! >"$REGISTRY_DIR/master-$i.pid"
}

start_server() {  # start_server J
    local j=$1 clients= i
    for i in $(seq 1 "$MASTERS"); do clients+="${clients:+,}127.0.0.1:$(master_client "$i")"; done
    setsid "$REGISTRY_BIN/registry-server" --masters "$clients" --port "$(server_port "$j")" \
        --http "127.0.0.1:$(server_http "$j")" --metadata "{\"index\": $j}" \
        >>"$REGISTRY_DIR/server-$j.log" 2>&1 </dev/null &
    echo $! >"$REGISTRY_DIR/server-$j.pid"
}

lookup_list() {
    local i out=
    for i in $(seq 1 "$MASTERS"); do out+="${out:+,}127.0.0.1:$(master_lookups "$i")"; done
    echo "$out"
}
