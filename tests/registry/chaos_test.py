#!/usr/bin/env python3
"""The master registry under partitions and bursts (issue 16's chaos).

Three registry-master and five registry-server processes, each in a network
namespace of its own (tests/nemesis/netns.py), while clients in the hub
look up without end (`registry-admin watch`, one plain and one hedged).
A seeded schedule applies these faults, one at a time, each healed before
the next:

  isolate-active   the active master cut from the other masters and from
                   every region server (clients still reach it: a stale
                   master they can talk to)
  one-way-active   the active master's packets to the other masters dropped
                   (it hears them; they never hear it)
  split            one master and two region servers against the rest
  bridge           one master sees both others, which do not see each other
  isolate-server   one region server cut from everything, past its session
  burst            40 more region servers started at once, with 6 more
                   clients looking up flat out; then all of them stopped
                   at once

and checks, as it goes and at the end:
  - a failover (the active master cut off) reaches the clients within
    FAILOVER_BOUND_S;
  - no two masters ever say they are active at the same time (each master's
    /health, polled; see overlapping_active);
  - a region server cut off past its session is gone from every master, and
    back in every master once healed; every burst server is seen by every
    master, and gone once stopped;
  - after each heal the cluster converges: one active master, named by every
    master, and every region server in every master's cache;
  - no client lookup failed, the meta location and the cluster id never
    changed.

Usage: chaos_test.py BIN_DIR [--seed N] [--keep DIR]
       chaos_test.py --self-test    the checkers against planted histories
Exit 77 (skipped) without root, ip or nft."""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "nemesis"))
import netns  # noqa: E402

MASTERS = ["m1", "m2", "m3"]
SERVERS = ["rs1", "rs2", "rs3", "rs4", "rs5"]
PEER, LOOKUPS, HTTP, CLIENT = 7000, 16000, 16010, 9000
RS_PORT, RS_HTTP = 16020, 16030
MASTER_SESSION_MS = 500
SERVER_SESSION_MS = 1500
FAILOVER_BOUND_S = 5.0
CONVERGE_BOUND_S = 30.0
FAULTS = ["isolate-active", "one-way-active", "split", "bridge", "isolate-server", "burst"]
BURST_SERVERS, BURST_WATCHERS = 40, 6


def log(message):
    print("[%7.2fs] %s" % (time.monotonic() - T0, message), flush=True)


T0 = time.monotonic()


# ---- checkers (pure: --self-test plants histories in them) ----

def active_runs(samples):
    """samples: (master, t_start, t_end, state), one per /health poll, each
    master's in time order. Returns (master, from, to) for every run of
    consecutive "active" samples of a master: from the first one's end to
    the last one's start, the span over which it surely said so throughout
    (a run of one sample spans nothing)."""
    runs, by_master = [], {}
    for m, t0, t1, state in samples:
        by_master.setdefault(m, []).append((t0, t1, state))
    for m, polls in by_master.items():
        run = None
        for t0, t1, state in polls + [(None, None, "end")]:
            if state == "active":
                run = (run[0], t0) if run else (t1, t0)
            else:
                if run and run[1] > run[0]:
                    runs.append((m, run[0], run[1]))
                run = None
    return runs


def overlapping_active(samples):
    """The pairs of runs (active_runs) of different masters that overlap:
    two masters that said they were active at once. [] is good."""
    runs = active_runs(samples)
    bad = []
    for i, (a, a0, a1) in enumerate(runs):
        for b, b0, b1 in runs[i + 1:]:
            if a != b and max(a0, b0) < min(a1, b1):
                bad.append(((a, a0, a1), (b, b0, b1)))
    return bad


def watch_summary(lines):
    """From a `registry-admin watch --json` output: (summary, failures)."""
    summary, failures = None, []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("event") == "summary":
            summary = event
        elif event.get("event") == "failed":
            failures.append(event)
    return summary, failures


def self_test():
    good = [("m1", 0.00, 0.01, "active"), ("m1", 0.10, 0.11, "active"),
            ("m1", 0.20, 0.21, "starting"), ("m2", 0.15, 0.16, "backup"),
            ("m2", 0.30, 0.31, "active"), ("m2", 0.40, 0.41, "active")]
    assert overlapping_active(good) == [], overlapping_active(good)
    bad = good + [("m3", 0.05, 0.06, "active"), ("m3", 0.09, 0.095, "active")]
    found = overlapping_active(bad)
    assert len(found) == 1 and found[0][0][0] == "m1" and found[0][1][0] == "m3", found
    # One lone sample proves nothing; runs of one master never clash.
    assert overlapping_active([("m1", 0, 1, "active"), ("m2", 0, 1, "active")]) == []
    assert overlapping_active([("m1", 0, 0.1, "active"), ("m1", 0.2, 0.3, "active")]) == []
    lines = ['{"event":"change","t_ms":1}', 'noise',
             '{"event":"failed","lookup":"active-master","error":"kTimeout","t_ms":5}',
             '{"event":"summary","lookups":10,"failed":1,"t_ms":9}']
    summary, failures = watch_summary(lines)
    assert summary["failed"] == 1 and len(failures) == 1
    assert watch_summary(['{"event":"change","t_ms":1}']) == (None, [])
    print("self-test: the checkers reject the planted histories and accept the good ones")
    return 0


# ---- the cluster ----

def get_json(url, timeout=0.5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read())
        except ValueError:
            return e.code, None
    except (OSError, ValueError):
        return None, None


class Cluster:
    def __init__(self, net, bin_dir, work):
        self.net, self.bin, self.work = net, bin_dir, work
        self.procs = {}
        self.peers = ",".join("%d=%s:%d" % (k + 1, net.address(m), PEER)
                              for k, m in enumerate(MASTERS))
        self.client_ports = ",".join("%s:%d" % (net.address(m), CLIENT) for m in MASTERS)
        self.lookup_ports = ",".join("%s:%d" % (net.address(m), LOOKUPS) for m in MASTERS)

    def path(self, name):
        return os.path.join(self.work, name)

    def start_master(self, m):
        k = MASTERS.index(m) + 1
        a = self.net.address(m)
        self.procs[m] = self.net.spawn(m, [
            os.path.join(self.bin, "registry-master"), "--id", str(k), "--peers", self.peers,
            "--data-dir", self.path(m), "--bootstrap",
            "--registry", "%s:%d" % (a, LOOKUPS), "--http", "%s:%d" % (a, HTTP),
            "--client", "%s:%d" % (a, CLIENT),
            "--master-session-timeout-ms", str(MASTER_SESSION_MS),
            "--min-session-timeout-ms", "400"], self.path(m + ".log"))

    def start_server(self, name, where, host, port, http):
        self.procs[name] = self.net.spawn(where, [
            os.path.join(self.bin, "registry-server"), "--masters", self.client_ports,
            "--host", host, "--port", str(port), "--http", "%s:%d" % (host, http),
            "--session-timeout-ms", str(SERVER_SESSION_MS), "--drain-timeout-ms", "2000",
            "--backoff-initial-ms", "100", "--backoff-max-ms", "1000",
            "--max-failures", "1000", "--metadata", json.dumps({"name": name})],
            self.path(name + ".log"))

    def admin(self, *args, hedge=1):
        return [os.path.join(self.bin, "registry-admin"), "--masters", self.lookup_ports,
                "--hedge", str(hedge), "--timeout-ms", "5000"] + list(args)

    def start_watcher(self, name, hedge, interval_ms=50):
        out = open(self.path(name + ".jsonl"), "wb")
        err = open(self.path(name + ".err"), "wb")
        p = subprocess.Popen(self.admin("watch", "--interval-ms", str(interval_ms), "--json",
                                        hedge=hedge),
                             stdout=out, stderr=err)
        out.close()
        err.close()
        self.procs[name] = p
        return p

    def stop_watcher(self, name):
        p = self.procs.pop(name)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("watcher %s did not stop on SIGTERM" % name)
        with open(self.path(name + ".jsonl")) as f:
            summary, failures = watch_summary(f)
        if summary is None:
            raise AssertionError("watcher %s printed no summary" % name)
        return summary, failures

    def health(self, m, timeout=0.5):
        return get_json("http://%s:%d/health" % (self.net.address(m), HTTP), timeout)[1]

    def lookup(self, m, what):
        status, body = get_json("http://%s:%d/%s" % (self.net.address(m), HTTP, what), 1.0)
        return body if status == 200 else None

    def servers_seen(self, m):
        body = self.lookup(m, "region-servers")
        if body is None:
            return None
        return {s["metadata"].get("name") for s in body["region_servers"]}

    def converged(self, expected_servers):
        """One active master, named by every master; each serving and seeing
        exactly expected_servers. Returns (ok, why)."""
        actives, named = [], set()
        for m in MASTERS:
            h = self.health(m)
            if h is None or h.get("status") != "ok" or not h.get("serving"):
                return False, "%s is not serving" % m
            if h.get("state") == "active":
                actives.append(m)
            named.add(h.get("active_master"))
            seen = self.servers_seen(m)
            if seen != set(expected_servers):
                return False, "%s sees %s" % (m, sorted(seen or []))
        if len(actives) != 1 or len(named) != 1 or None in named:
            return False, "active %s, named %s" % (actives, sorted(map(str, named)))
        return True, "one active master (%s), %d region servers" % (actives[0],
                                                                   len(expected_servers))

    def wait(self, what, predicate, bound_s):
        """Waits for predicate() -> (ok, why); returns the seconds it took."""
        start, why = time.monotonic(), ""
        while time.monotonic() - start < bound_s:
            ok, why = predicate()
            if ok:
                return time.monotonic() - start
            time.sleep(0.1)
        raise AssertionError("%s: not within %.0f s (%s)" % (what, bound_s, why))

    def active_master(self):
        for m in MASTERS:
            h = self.health(m)
            if h and h.get("state") == "active":
                return m
        return None

    def master_of_name(self, name):
        for m in MASTERS:
            if name and name.startswith(self.net.address(m) + ","):
                return m
        return None


class Poller:
    """Polls every master's /health, one thread per master, recording
    (master, t_start, t_end, state) for overlapping_active."""

    def __init__(self, cluster):
        self.cluster, self.samples, self.stop = cluster, [], threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(m,), daemon=True)
                        for m in MASTERS]
        for t in self.threads:
            t.start()

    def run(self, m):
        while not self.stop.is_set():
            t0 = time.monotonic()
            h = self.cluster.health(m, timeout=0.3)
            t1 = time.monotonic()
            with self.lock:
                self.samples.append((m, t0, t1, h.get("state") if h else "unreachable"))
            time.sleep(0.02)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)
        with self.lock:
            return sorted(self.samples, key=lambda s: (s[0], s[1]))


class Chaos:
    def __init__(self, cluster, seed):
        self.c, self.net, self.rand = cluster, cluster.net, random.Random(seed)
        self.failovers = []

    def failover_seen(self, deadline_s, old):
        """Waits until a lookup at one of the other masters names an active
        master other than `old`; returns the seconds it took."""
        def check():
            names = []
            for m in MASTERS:
                if m == old:
                    continue
                body = self.c.lookup(m, "active-master")
                name = body.get("active_master") if body else None
                names.append(name)
                if self.c.master_of_name(name) not in (None, old):
                    return True, name
            return False, "the others name %s" % names
        return self.c.wait("a failover from %s" % old, check, deadline_s)

    def cut_active(self, one_way):
        old = self.c.active_master()
        assert old, "no active master before the fault"
        others = [m for m in MASTERS if m != old]
        if one_way:
            log("fault: %s's packets to %s dropped (one way)" % (old, others))
            for m in others:
                self.net.block(old, m)
        else:
            log("fault: %s (active) cut from %s and every region server; clients still "
                "reach it" % (old, others))
            for peer in others + SERVERS:
                self.net.cut(old, peer)
        took = self.failover_seen(FAILOVER_BOUND_S, old)
        self.failovers.append(took)
        log("  a failover: %s is no longer the active master %.2f s after the cut" % (old, took))
        time.sleep(self.rand.uniform(1.0, 2.0))

    def split(self):
        minority = self.rand.choice(MASTERS)
        servers = self.rand.sample(SERVERS, 2)
        rest = [m for m in MASTERS if m != minority] + [s for s in SERVERS if s not in servers]
        log("fault: split {%s} | {%s}" % (", ".join([minority] + servers), ", ".join(rest)))
        self.net.split([minority] + servers, rest)
        survivors = [s for s in SERVERS if s not in servers]
        majority = [m for m in MASTERS if m != minority]
        # The minority's servers cannot reach a quorum: their sessions end.
        took = self.c.wait("the minority's region servers expired", lambda: (
            all(self.c.servers_seen(m) == set(survivors) for m in majority),
            "majority sees %s" % [sorted(self.c.servers_seen(m) or []) for m in majority]),
            SERVER_SESSION_MS / 1000 + 5)
        log("  %s gone from the majority's caches after %.2f s" % (servers, took))
        time.sleep(self.rand.uniform(0.5, 1.5))

    def bridge(self):
        middle = self.rand.choice(MASTERS)
        left, right = [m for m in MASTERS if m != middle]
        log("fault: bridge: %s sees %s and %s, which do not see each other" % (middle, left,
                                                                             right))
        self.net.bridge(middle, [left], [right])
        time.sleep(self.rand.uniform(2.0, 4.0))
        active = self.c.active_master()
        log("  during the bridge the active master is %s" % active)

    def isolate_server(self):
        s = self.rand.choice(SERVERS)
        log("fault: %s cut from everything" % s)
        self.net.isolate(s)
        rest = set(SERVERS) - {s}
        took = self.c.wait("%s gone from every master" % s, lambda: (
            all(self.c.servers_seen(m) == rest for m in MASTERS), "not yet"),
            SERVER_SESSION_MS / 1000 + 5)
        log("  %s gone from every master's cache after %.2f s (session %d ms)" % (
            s, took, SERVER_SESSION_MS))

    def burst(self):
        hub = self.net.address("hub")
        names = ["burst%d" % i for i in range(1, BURST_SERVERS + 1)]
        log("burst: %d region servers and %d clients start at once" % (len(names),
                                                                       BURST_WATCHERS))
        for i, n in enumerate(names):
            self.c.start_server(n, "hub", hub, 17000 + i, 18000 + i)
        for i in range(BURST_WATCHERS):
            # Flat out: a burst of lookups beside the registrations.
            self.c.start_watcher("burst-watch%d" % (i + 1), hedge=1 + i % 2, interval_ms=0)
        everyone = set(SERVERS) | set(names)
        took = self.c.wait("every burst server in every master", lambda: (
            all(self.c.servers_seen(m) == everyone for m in MASTERS), "not yet"), 20)
        log("  all %d in every master's cache after %.2f s" % (len(everyone), took))
        for n in names:
            self.c.procs[n].send_signal(signal.SIGTERM)
        took = self.c.wait("the burst servers deregistered", lambda: (
            all(self.c.servers_seen(m) == set(SERVERS) for m in MASTERS), "not yet"), 10)
        log("  all stopped at once: gone from every master after %.2f s" % took)
        for n in names:
            p = self.c.procs.pop(n)
            code = p.wait(timeout=15)
            assert code == 0, "%s exited %s on SIGTERM" % (n, code)
        lookups = 0
        for i in range(BURST_WATCHERS):
            summary, failures = self.c.stop_watcher("burst-watch%d" % (i + 1))
            assert not failures, "burst watcher %d: %s" % (i + 1, failures[:3])
            lookups += summary["lookups"]
        log("  the burst's clients: %d lookups, none failed" % lookups)

    def run(self, fault):
        if fault == "isolate-active":
            self.cut_active(one_way=False)
        elif fault == "one-way-active":
            self.cut_active(one_way=True)
        elif fault == "split":
            self.split()
        elif fault == "bridge":
            self.bridge()
        elif fault == "isolate-server":
            self.isolate_server()
        elif fault == "burst":
            self.burst()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir", nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="keep the logs in this directory")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if not args.bin_dir:
        ap.error("BIN_DIR is needed")
    try:
        net = netns.Network("rc", MASTERS + SERVERS)
    except netns.Unavailable as e:
        print("skipped: %s" % e)
        return 77
    work = args.keep or tempfile.mkdtemp(prefix="registry-chaos-")
    os.makedirs(work, exist_ok=True)
    ok = False
    try:
        net.enter_hub()
        c = Cluster(net, args.bin_dir, work)
        schedule = FAULTS[:]
        random.Random(args.seed).shuffle(schedule)
        log("seed %d: %s; logs in %s" % (args.seed, ", ".join(schedule), work))
        for m in MASTERS:
            c.start_master(m)
        for k, s in enumerate(SERVERS):
            a = net.address(s)
            c.start_server(s, s, a, RS_PORT, RS_HTTP)
        took = c.wait("the cluster formed", lambda: c.converged(SERVERS), CONVERGE_BOUND_S)
        log("3 masters and 5 region servers, each in its own namespace: formed in %.2f s" % took)
        rs1 = c.lookup("m1", "region-servers")["region_servers"]
        meta_name = sorted(s["name"] for s in rs1)[0]
        r = subprocess.run(c.admin("set-meta", meta_name, "--expected-version", "-1"),
                           capture_output=True, text=True)
        assert r.returncode == 0, "set-meta: %s" % r.stderr
        cluster_id = c.lookup("m1", "cluster-id")["cluster_id"]
        meta = c.lookup("m1", "meta-location")["meta_location"]
        c.start_watcher("watch", hedge=1)
        c.start_watcher("watch-hedged", hedge=2)
        poller = Poller(c)
        chaos = Chaos(c, args.seed)
        for fault in schedule:
            chaos.run(fault)
            net.heal()
            took = c.wait("converged after %s" % fault, lambda: c.converged(SERVERS),
                          CONVERGE_BOUND_S)
            log("  healed; converged in %.2f s" % took)
        time.sleep(1)
        samples = poller.finish()
        clash = overlapping_active(samples)
        assert not clash, "two masters said they were active at once: %s" % clash[:3]
        log("no two masters active at once (%d /health samples)" % len(samples))
        for name in ("watch", "watch-hedged"):
            summary, failures = c.stop_watcher(name)
            assert not failures, "%s: failed lookups: %s" % (name, failures[:3])
            log("%s: %d lookups, none failed; p99 %.1f ms, max %.0f ms, active master "
                "changed %d times" % (name, summary["lookups"], summary["p99_ms"],
                                      summary["max_ms"], summary["active_changes"]))
        for m in MASTERS:
            assert c.lookup(m, "cluster-id")["cluster_id"] == cluster_id, m
            assert c.lookup(m, "meta-location")["meta_location"] == meta, m
        log("the cluster id and the meta location (%s, version %d) never changed" % (
            meta["server"], meta["version"]))
        log("failovers under partition: %s s" % ", ".join("%.2f" % t for t in chaos.failovers))
        ok = True
    except AssertionError as e:
        log("FAILED: %s" % e)
    finally:
        net.close()
        if not ok:
            for name in sorted(os.listdir(work)):
                if name.endswith(".log") or name.endswith(".err"):
                    with open(os.path.join(work, name), errors="replace") as f:
                        tail = f.readlines()[-15:]
                    print("---- %s (last lines)\n%s" % (name, "".join(tail)))
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("registry chaos: %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
