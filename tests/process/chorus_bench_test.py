#!/usr/bin/env python3
"""chorus-bench in a tiny configuration: it must start a real ensemble,
measure, kill a leader, restart a follower holding 8 MiB, print its table
and write JSON with every field docs/benchmarks.md promises — with numbers
that make sense.

Usage: chorus_bench_test.py CHORUS_BENCH CHORUS_SERVER"""
import json
import os
import signal
import subprocess
import sys
import tempfile

REQUIRED = ["system", "workload", "servers", "window", "payload_bytes", "ops_per_s",
            "p50_ms", "p99_ms", "p999_ms", "machine"]


def main():
    bench, server = sys.argv[1:3]
    with tempfile.TemporaryDirectory(prefix="chorus-bench-test-") as tmp:
        out = os.path.join(tmp, "results.json")
        # Its own process group: if it hangs, the servers it started go too.
        run = subprocess.Popen(
            [bench, "--systems", "chorus", "--servers", "3", "--windows", "1,8", "--payloads", "100",
             "--seconds", "0.5", "--warmup", "0.2", "--system-warmup", "0.5", "--kills", "1", "--sessions", "200", "--reads", "on", "--churn", "on",
             "--session-timeout-ms", "2000", "--recovery-bytes", "8M", "--chorus-server", server,
             "--json", out],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = run.communicate(timeout=170)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            stdout, stderr = run.communicate()
            stdout += "\n(killed after 170 s)"
        print(stdout)
        print(stderr, file=sys.stderr)
        problems = []
        if run.returncode != 0:
            problems.append(f"exit status {run.returncode}")
        if "chorus ops/s" not in stdout or "failover chorus" not in stdout:
            problems.append("the table or the failover line is missing")
        rows = json.load(open(out)) if os.path.exists(out) else []
        writes = {r["window"]: r for r in rows if r.get("workload") == "write"}
        for kind in ("read", "sync_read", "churn"):
            got = sorted(r["window"] for r in rows if r.get("workload") == kind and r["ops_per_s"] > 0)
            if got != [1, 8]:
                problems.append(f"{kind} rows with throughput for windows {got}, not [1, 8]")
        failover = [r for r in rows if r.get("workload") == "failover"]
        if sorted(writes) != [1, 8]:
            problems.append(f"write rows for windows {sorted(writes)}, not [1, 8]")
        for w, r in writes.items():
            missing = [f for f in REQUIRED if f not in r]
            if missing:
                problems.append(f"window {w}: fields missing: {missing}")
                continue
            if not (r["system"] == "chorus" and r["servers"] == 3 and r["payload_bytes"] == 100):
                problems.append(f"window {w}: wrong configuration recorded: {r}")
            if not r["ops_per_s"] > 0:
                problems.append(f"window {w}: no throughput")
            if not 0 < r["p50_ms"] <= r["p99_ms"] <= r["p999_ms"]:
                problems.append(f"window {w}: percentiles out of order: {r}")
            if not r["machine"].get("cores"):
                problems.append("the machine is not recorded")
        churn = [r for r in rows if r.get("workload") == "churn"]
        if not all(r.get("notifications_per_s_per_watcher", 0) > 0 for r in churn):
            problems.append(f"watchers saw no membership change: {churn}")
        sessions = [r for r in rows if r.get("workload") == "sessions"]
        if len(sessions) != 1 or sessions[0].get("sessions") != 200:
            problems.append(f"no sessions row for 200 sessions: {sessions}")
        else:
            r = sessions[0]
            if not r["ops_per_s"] > 0:
                problems.append("no session creates measured")
            if r["log_bytes_per_heartbeat"] != 0:
                problems.append(f"heartbeats were logged: {r['log_bytes_per_heartbeat']} B each")
            if not (r["log_bytes_per_create"] > 0 and r["log_bytes_per_expire"] > 0):
                problems.append(f"session creates and expiries must be logged: {r}")
            if r.get("memory_measure") != "live heap (allocator)" or not r.get("leader_bytes_per_session", 0) > 0:
                problems.append(f"the leader's memory per session is not reported: {r}")
        if len(failover) != 1 or failover[0].get("kills") != 1:
            problems.append(f"no failover row for one kill: {failover}")
        elif not 0 < failover[0]["unavailable_ms"] < 30000:
            problems.append(f"failover unavailability out of range: {failover[0]}")
        recovery = [r for r in rows if r.get("workload") == "recovery"]
        if "back in quorum ms" not in stdout:
            problems.append("the recovery table is missing")
        if len(recovery) != 1:
            problems.append(f"no recovery row: {recovery}")
        else:
            r = recovery[0]
            if "error" in r:
                problems.append(f"recovery stopped: {r['error']}")
            elif not (0 < r["recovery_ms"] < 60000 and r["recovery_ms"] <= r["first_read_ms"] < 60000):
                problems.append(f"recovery times out of range: {r}")
            if not r.get("data_dir_bytes", 0) >= 8 << 20:
                problems.append(f"the restarted server held less than 8 MiB: {r}")
            if not (r.get("state_bytes", 0) == r.get("keys", 0) * r["payload_bytes"] > 0
                    and r["values_written"] >= r["keys"]):
                problems.append(f"recovery state not written: {r}")
        for p in problems:
            print("FAIL:", p)
        if not problems:
            print("ok: chorus-bench measured writes, reads, sync+reads and churn at windows 1 and 8, 200 sessions, one failover and recovery of a follower holding 8 MiB")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
