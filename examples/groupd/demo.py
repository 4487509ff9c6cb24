#!/usr/bin/env python3
"""The main job: a local three-server groupd ensemble, doing real work, told
in words. Usage: demo.py GROUPD CHORUSCTL [COMMAND ...]

COMMAND, if given, runs after the scenario, with the ensemble stopped so
that it has the machine to itself (the main job runs chorus-bench --quick
there); the ensemble is then started again from its data directories for
you to try.

Two members join a group, one stops heartbeating and is dropped, the leader
is killed and the survivors carry on; then the ensemble stays up for you to
try curl (when run from a terminal) or is stopped."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "process"))
import groupdlib  # noqa: E402
from groupdlib import call  # noqa: E402

T0 = time.time()


PRINT = threading.Lock()


def say(text=""):
    with PRINT:  # whole lines, whichever thread speaks
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def stamp():
    return f"[{time.time() - T0:5.1f}s]"


def names(doc):
    return [name for m in doc["active_members"] for name in m]


class Heartbeater(threading.Thread):
    """A member heartbeating (HEAD) about every second through one server,
    moving to the next when that one does not answer."""

    def __init__(self, ens, member, server):
        super().__init__(daemon=True)
        self.ens, self.member, self.server = ens, member, server
        self.stop = threading.Event()
        self.lost = False

    def run(self):
        while not self.stop.wait(1.0):
            r = call(self.ens.http_ports[self.server], "HEAD", f"/web/{self.member}", timeout=1.0)
            if r.status == 404:
                self.lost = True
                say(f"   {stamp()} {self.member}: heartbeat refused — the member was dropped!")
                return
            if r.status != 200:
                moved = next(i for i in range(1, 4) if i != self.server and self.ens.alive(i))
                say(f"   {stamp()} {self.member}: server {self.server} did not answer; heartbeating through server {moved} now")
                self.server = moved


class Watcher(threading.Thread):
    """Long-polls the group and prints every change it sees."""

    def __init__(self, ens, server):
        super().__init__(daemon=True)
        self.ens, self.server = ens, server
        self.version = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            port = self.ens.http_ports[self.server]
            r = call(port, "GET", f"/web?wait-version={self.version}", timeout=40)
            if r.status == 200 and r.version > self.version:
                self.version = r.version
                say(f"   {stamp()} watcher (server {self.server}) sees version {r.version}: active {names(r.json())}")
            elif r.status in (0, 503):
                self.server = next(i for i in range(1, 4) if i != self.server and self.ens.alive(i))
                time.sleep(0.1)


def main():
    groupd, chorusctl = sys.argv[1:3]
    then = sys.argv[3:]
    workdir = tempfile.mkdtemp(prefix="groupd-demo-")
    ens = groupdlib.Ensemble(groupd, workdir, preferred_http=[8001, 8002, 8003],
                             preferred_peers=[7001, 7002, 7003])
    try:
        say("1. Starting three groupd servers on 127.0.0.1, each with its own data directory:")
        for i in range(1, 4):
            say(f"     server {i}: HTTP on port {ens.http_ports[i]}, peers on port {ens.peer_ports[i]}")
        ens.start_all()
        leader = ens.wait_ready()
        if leader is None:
            say("   The ensemble did not become ready within 30 s. Its logs:\n" + ens.tail_logs())
            return 1
        followers = [i for i in range(1, 4) if i != leader]
        say(f"   They elected a leader: server {leader}. Every server serves the same HTTP API.")
        say()

        watcher = Watcher(ens, followers[0])
        watcher.start()
        say(f"2. A watcher long-polls GET /web?wait-version=N on server {followers[0]}: it hears of every change.")
        say(f"   Two members join group 'web' through server {followers[0]} and server {followers[1]}, with a 3 s timeout:")
        r = call(ens.http_ports[followers[0]], "PUT", "/web/web-1?timeout=3", json.dumps({"host": "10.0.0.1", "port": 8080}))
        say(f"     PUT /web/web-1 -> {r.status}, group version {r.version}")
        r = call(ens.http_ports[followers[1]], "PUT", "/web/web-2?timeout=3", json.dumps({"host": "10.0.0.2", "port": 8080}))
        silent_at = time.time()  # its last word: the join
        say(f"     PUT /web/web-2 -> {r.status}, group version {r.version}")
        time.sleep(0.3)
        say()

        say("3. web-1 heartbeats (HEAD /web/web-1) every second; web-2 goes silent.")
        say("   Heartbeats are absorbed by the leader in memory — nothing is written to disk for them.")
        beater = Heartbeater(ens, "web-1", followers[0])
        beater.start()
        dropped = None
        while time.time() - silent_at < 10:
            doc = call(ens.http_ports[leader], "GET", "/web").json()
            if doc and "web-2" not in names(doc):
                dropped = time.time() - silent_at
                break
            time.sleep(0.05)
        if dropped is None:
            say("   web-2 was not dropped within 10 s — something is wrong. Logs:\n" + ens.tail_logs())
            return 1
        say(f"   web-2 was dropped {dropped:.1f} s after it went silent (its timeout: 3 s); web-1 stays.")
        say()

        say(f"4. Killing the leader, server {leader}, with SIGKILL (no warning, no clean shutdown)...")
        killed_at = time.time()
        ens.kill(leader, signal.SIGKILL)
        new_leader = ens.wait_ready(timeout=30, endpoints=False)
        took = time.time() - killed_at
        if new_leader is None:
            say("   No new leader within 30 s. Logs:\n" + ens.tail_logs())
            return 1
        say(f"   Server {new_leader} leads now, {took * 1000:.0f} ms after the kill. The new leader gives every")
        say("   session a fresh timeout, so no member is dropped by the failover.")
        r = call(ens.http_ports[new_leader], "PUT", "/web/web-3?timeout=3", json.dumps({"host": "10.0.0.3", "port": 8080}))
        say(f"   web-3 joins through server {new_leader}: {r.status}, group version {r.version} — two servers of three are a quorum.")
        beater3 = Heartbeater(ens, "web-3", new_leader)
        beater3.start()
        time.sleep(4)  # longer than the 3 s timeout: heartbeating members must survive it
        doc = call(ens.http_ports[new_leader], "GET", "/web").json()
        say(f"   4 s later (more than a timeout): active members {names(doc)}, version {doc['version']}.")
        if beater.lost or "web-1" not in names(doc):
            say("   web-1 was dropped although it kept heartbeating — that is a bug. Logs:\n" + ens.tail_logs())
            return 1
        say()

        say(f"5. Restarting server {leader}: it rejoins as a follower and catches up from the others.")
        ens.start(leader)
        if ens.wait_ready(timeout=30) is None:
            say("   It did not catch up within 30 s. Logs:\n" + ens.tail_logs())
            return 1
        versions = {i: call(ens.http_ports[i], "GET", "/web").version for i in range(1, 4)}
        say(f"   The group's version on each server: {versions}.")
        say()
        say("   chorusctl shows the ensemble (one address is enough):")
        out = subprocess.run([chorusctl, "--servers", f"127.0.0.1:{ens.http_ports[1]}"],
                             capture_output=True, text=True, timeout=30)
        for line in out.stdout.splitlines():
            say("     " + line)
        for t in (watcher, beater, beater3):
            t.stop.set()
        for t in (beater, beater3):  # (the watcher's long poll ends with the servers)
            t.join(timeout=5)
        say()

        if then:
            say("6. chorus against ZooKeeper on this machine, measured now (docs/benchmarks.md).")
            say("   The three servers are stopped first, so that the benchmark has both cores to itself:")
            ens.stop_all()
            bench = subprocess.run(then, timeout=600)
            if bench.returncode != 0:
                say(f"   The benchmark failed (exit status {bench.returncode}).")
                return 1
            say()
            if sys.stdin.isatty():
                say("   Starting the three servers again, from their data directories...")
                ens.start_all()
                if ens.wait_ready(timeout=30) is None:
                    say("   They did not come back within 30 s. Logs:\n" + ens.tail_logs())
                    return 1
                say()

        p = ens.http_ports
        say("Try it yourself (docs/groupd.md has the whole API):")
        say(f"  curl -s -X PUT 'http://127.0.0.1:{p[1]}/web/me?timeout=30' -d '{{\"port\": 1234}}'   # join")
        say(f"  curl -sI 'http://127.0.0.1:{p[2]}/web/me'                                          # heartbeat")
        say(f"  curl -s 'http://127.0.0.1:{p[3]}/web?wait-version=1'                               # wait for a change")
        say(f"  curl -s 'http://127.0.0.1:{p[1]}/metrics' | grep chorus_log                        # nothing logged per heartbeat")
        say(f"  {chorusctl} --servers 127.0.0.1:{p[1]}")
        if sys.stdin.isatty():
            say()
            say(f"The ensemble keeps running (logs in {workdir}). Press Enter (or Ctrl-C) to stop it.")
            try:
                input()
            except (EOFError, KeyboardInterrupt):
                pass
        else:
            say()
            say("(Run ./chorus.sh run from a terminal and the ensemble stays up for you to try these.)")
        return 0
    finally:
        ens.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
