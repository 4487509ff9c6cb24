#!/usr/bin/env python3
"""The registry's monitoring, checked against the real thing
(examples/registry/monitoring/): the shipped Prometheus config passes
promtool; a live cluster (three masters, two region servers, started by the
cluster scripts) exposes every metric the Grafana dashboard uses; and
Debian's real `prometheus`, pointed at the cluster, scrapes every target and
answers every one of the dashboard's queries with data.

Usage: monitoring_test.py REGISTRY_BIN [--plant-metric NAME]
  REGISTRY_BIN   the directory of registry-master and registry-server
  --plant-metric adds a panel using NAME to the dashboard in memory: the
                 test must then fail (tests/meson.build runs it so).
Exit 77 (skipped) when prometheus or promtool is not installed."""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SCRIPTS = os.path.join(ROOT, "examples", "registry", "scripts")
MONITORING = os.path.join(ROOT, "examples", "registry", "monitoring")
MASTERS, SERVERS = 3, 2
# Names PromQL knows without any target exposing them.
BUILTIN = {"up"}
FUNCTIONS = {"sum", "max", "min", "count", "rate", "increase", "by", "avg"}


def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_base():
    """A base port whose cluster ports (common.sh's layout) are all free."""
    import random
    for _ in range(200):
        base = random.randrange(20000, 30000, 1000)
        if all(free(base + off + i) for off in range(0, 700, 100) for i in range(1, 4)):
            return base
    raise SystemExit("no free block of ports found")


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def exposed_names(text):
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def dashboard_exprs(dashboard):
    out = []
    for panel in dashboard["panels"]:
        assert panel.get("targets"), f"panel '{panel.get('title')}' has no queries"
        for t in panel["targets"]:
            out.append((panel["title"], t["expr"]))
    return out


def metric_names(expr):
    # Label values and names inside {...} and by (...) are not metrics.
    stripped = re.sub(r"\{[^}]*\}", "", expr)
    stripped = re.sub(r"by \([^)]*\)", "", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    return {n for n in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", stripped)
            if n not in FUNCTIONS and not n.isdigit()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("registry_bin")
    parser.add_argument("--plant-metric")
    args = parser.parse_args()
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        print("prometheus/promtool not installed (apt-get install prometheus): skipped")
        return 77

    # 1. The shipped config and dashboard parse.
    subprocess.run([promtool, "check", "config", os.path.join(MONITORING, "prometheus.yml")],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(MONITORING, "grafana-dashboard.json")) as f:
        dashboard = json.load(f)
    if args.plant_metric:
        dashboard["panels"].append({"title": "planted", "targets": [{"expr": args.plant_metric}]})
    exprs = dashboard_exprs(dashboard)
    print(f"dashboard: {len(dashboard['panels'])} panels, {len(exprs)} queries")

    work = tempfile.mkdtemp(prefix="chorus-registry-monitoring-")
    env = dict(os.environ, REGISTRY_DIR=os.path.join(work, "cluster"),
               REGISTRY_PORT=str(pick_base()), REGISTRY_BIN=os.path.abspath(args.registry_bin))
    base = int(env["REGISTRY_PORT"])
    prom = None
    try:
        subprocess.run(["bash", os.path.join(SCRIPTS, "start-cluster.sh"), str(MASTERS),
                        str(SERVERS)], env=env, check=True, timeout=120)
        masters = [f"127.0.0.1:{base + 100 + i}" for i in range(1, MASTERS + 1)]
        servers = [f"127.0.0.1:{base + 600 + j}" for j in range(1, SERVERS + 1)]

        # 2. Every metric the dashboard uses is exposed by a live process.
        names = set(BUILTIN)
        for target in masters + servers:
            names |= exposed_names(get(f"http://{target}/metrics"))
        missing = sorted({(title, n) for title, e in exprs for n in metric_names(e)
                          if n not in names})
        if missing:
            for title, n in missing:
                print(f"FAIL: panel '{title}' uses {n}, which no master or region server exposes")
            return 1
        print(f"every metric the dashboard uses is exposed ({len(names)} names exposed)")

        # 3. A real Prometheus scrapes them all and answers every query.
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n"
                    f"  - job_name: registry-master\n    static_configs:\n"
                    f"      - targets: {json.dumps(masters)}\n"
                    f"  - job_name: registry-server\n    static_configs:\n"
                    f"      - targets: {json.dumps(servers)}\n")
        port = next(p for p in range(base + 900, base + 999) if free(p))
        prom = subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={work}/tsdb",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=open(os.path.join(work, "prometheus.log"), "w"), stderr=subprocess.STDOUT)
        api = f"http://127.0.0.1:{port}/api/v1/query?query="

        def query(q):
            try:
                r = json.loads(get(api + urllib.parse.quote(q)))
            except OSError:
                return None
            return r["data"]["result"] if r.get("status") == "success" else None

        def until(check, seconds, what):
            deadline = time.time() + seconds
            while time.time() < deadline:
                if check():
                    return True
                time.sleep(0.5)
            print(f"FAIL: {what} within {seconds} s")
            return False

        if not until(lambda: (r := query("up == 1")) is not None and len(r) == MASTERS + SERVERS,
                     60, f"Prometheus scraping all {MASTERS + SERVERS} targets"):
            print(open(os.path.join(work, "prometheus.log")).read()[-2000:])
            return 1
        print(f"prometheus scrapes all {MASTERS + SERVERS} targets")
        checks = [
            ("sum(registry_master_active)", lambda v: v == 1, "exactly one active master"),
            ("count(registry_region_servers == 2)", lambda v: v == MASTERS,
             "every master's cache holds both region servers"),
            ("sum(registry_server_registered)", lambda v: v == SERVERS,
             "every region server registered"),
        ]
        for q, good, what in checks:
            if not until(lambda: (r := query(q)) and good(float(r[0]["value"][1])), 30, what):
                return 1
            print(f"ok: {what} ({q})")
        # Every query of the dashboard answers with data (rates need two
        # scrapes, so give them a few seconds).
        for title, e in exprs:
            if not until(lambda: bool(query(e)), 30, f"panel '{title}' query {e} returning data"):
                return 1
        print(f"ok: all {len(exprs)} dashboard queries return data")
        return 0
    finally:
        if prom is not None:
            prom.send_signal(signal.SIGTERM)
            try:
                prom.wait(timeout=10)
            except subprocess.TimeoutExpired:
                prom.kill()
        subprocess.run(["bash", os.path.join(SCRIPTS, "stop-cluster.sh")], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
