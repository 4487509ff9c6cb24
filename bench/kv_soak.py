#!/usr/bin/env python3
"""Soak: a three-server kv ensemble under full write load for a while,
counting elections. With no faults injected, every election is spurious.

Usage: kv_soak.py KV_BINARY [--seconds 300] [--clients 8] [--kv-arg=--flag=value ...]
Prints writes/s and the number of epochs established during the run."""
import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "process"))
import kvlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kv")
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--kv-arg", action="append", default=[], help="extra flag for every server (repeatable)")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="chorus-soak-")
    ens = kvlib.Ensemble(args.kv, workdir, extra_args=args.kv_arg)
    try:
        ens.start_all()
        leader = ens.wait_for_leader()
        if leader is None:
            print("no leader")
            return 1
        epoch0 = int(ens.status(leader)["epoch"])
        stop = threading.Event()
        counts = [0] * args.clients
        errors = [0] * args.clients
        first_error = []

        def client(c):
            conn = kvlib.Conn(ens.client_ports[1 + c % 3], timeout=5)
            n = 0
            while not stop.is_set():
                n += 1
                a = conn.ask(f"put c{c}-{n} {random.randrange(1 << 30)}")
                if a.startswith("ok"):
                    counts[c] += 1
                else:
                    errors[c] += 1
                    if not first_error:
                        first_error.append(a)

        threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(args.clients)]
        t0 = time.time()
        for t in threads:
            t.start()
        next_report = t0 + 30
        while time.time() - t0 < args.seconds:
            time.sleep(1)
            if time.time() >= next_report:
                st = ens.status(ens.leader() or leader) or {}
                print(f"  {time.time() - t0:5.0f} s: {sum(counts)} writes, epoch {st.get('epoch')}", flush=True)
                next_report += 30
        stop.set()
        for t in threads:
            t.join(timeout=10)
        elapsed = time.time() - t0
        final = ens.wait_for_leader()
        epoch1 = int(ens.status(final)["epoch"])
        # A follower that lost its leader for a moment and rejoined the same
        # epoch is a disruption too, though not an election: count them.
        rejoins = 0
        for i in range(1, 4):
            with open(os.path.join(workdir, f"server{i}.log")) as f:
                rejoins += max(0, sum(1 for line in f if line.rstrip().endswith(": looking")) - 1)
        print(f"soak: {args.seconds:.0f} s, {args.clients} clients (window 1 each): {sum(counts)} writes, "
              f"{sum(counts) / elapsed:.0f} writes/s, {sum(errors)} errors; "
              f"elections during the run: {epoch1 - epoch0} (leader {leader} -> {final}), "
              f"times a server went back to looking: {rejoins}"
              + (f"; first error: {first_error[0]}" if first_error else ""))
        return 0 if epoch1 == epoch0 else 1
    finally:
        ens.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
