#!/bin/bash
# Starts a local 3-server chorus-server ensemble (fsync on, its own data
# directories), runs session-load against it, stops what it started.
#   bench/session_load.sh BUILD_DIR SESSIONS HOLD_SECONDS [extra chorus-server flags...]
# e.g. bench/session_load.sh build 1000000 25 --election-timeout-ticks 100 --min-session-timeout-ms 2000
set -euo pipefail
build=$1 sessions=$2 hold=$3
shift 3
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-session-load-XXXXXX")
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
peers="" clients="" pids=()
for i in 1 2 3; do
  peer_port[$i]=$(port); client_port[$i]=$(port)
  peers+="${peers:+,}$i=127.0.0.1:${peer_port[$i]}"
  clients+="${clients:+,}127.0.0.1:${client_port[$i]}"
done
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for i in 1 2 3; do
  "$build/chorus-server" --id $i --bootstrap --peers "$peers" --data-dir "$work/d$i" \
    --client 127.0.0.1:${client_port[$i]} --max-session-timeout-ms 120000 "$@" >"$work/s$i.log" 2>&1 &
  pids+=($!)
done
sleep 2
"$build/bench/session-load" --servers "$clients" --sessions "$sessions" --hold-seconds "$hold" \
  --timeout-ms 30000 --pids "$(IFS=,; echo "${pids[*]}")"
echo "elections after the first (per server):"
for i in 1 2 3; do echo "  server $i: $(( $(grep -c ': looking' "$work/s$i.log") - 1 ))"; done
grep -h "core thread" "$work"/s*.log | tail -n 5 || true
