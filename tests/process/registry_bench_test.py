#!/usr/bin/env python3
"""registry-bench in a tiny configuration, so that it cannot rot: one short
point of each kind, one failover, the roll, no ZooKeeper; its JSON checked.

Usage: registry_bench_test.py REGISTRY_BENCH EXAMPLES_DIR"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    bench, examples = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="registry-bench-test-") as work:
        out = os.path.join(work, "figures.json")
        run = subprocess.run([bench, "--bin", examples, "--seconds", "0.5", "--warmup", "0.2",
                              "--clients", "2", "--failovers", "1", "--no-zookeeper", "--json",
                              out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=240)
        text = run.stdout
        lines = [l for l in text.splitlines() if not l.startswith("[")]
        print("\n".join(lines))
        problems = []
        if run.returncode != 0:
            problems.append(f"exit status {run.returncode}")
        figures = json.load(open(out)) if os.path.exists(out) else {}
        for tag in ("1 master", "3 masters"):
            for kind in ("uncached", "cached"):
                f = figures.get("lookups", {}).get(tag, {}).get(kind)
                if not f:
                    problems.append(f"no lookups/{tag}/{kind}")
                    continue
                if f["ops_per_s"] <= 0 or f["failed"] != 0 or f["p50_ms"] > f["p99_ms"]:
                    problems.append(f"lookups/{tag}/{kind}: {f}")
        reg = figures.get("registrations", {})
        if reg.get("ops_per_s", 0) <= 0 or reg.get("failed", 1) != 0:
            problems.append(f"registrations: {reg}")
        failovers = figures.get("failover_ms", [])
        if len(failovers) != 1 or not 0 < failovers[0] < 30000:
            problems.append(f"failover_ms: {failovers}")
        roll = figures.get("rolling_restart", {})
        if roll.get("ops", 0) <= 0 or roll.get("failed", 1) != 0:
            problems.append(f"rolling_restart: {roll}")
        if "ZooKeeper: not measured (--no-zookeeper)" not in text and \
                "ZooKeeper: not measured" not in text:
            problems.append("the ZooKeeper point was not left out")
        for p in problems:
            print("FAIL:", p)
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
