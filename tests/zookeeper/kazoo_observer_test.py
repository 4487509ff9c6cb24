"""An observer serving reads, sessions and watches while voters come and
go, through a real client, kazoo (python3-kazoo): three chorus-servers on
127.0.0.1, then a fourth added as an observer (--join, POST
/membership/add?as=observer), and kazoo connected to the observer alone.

    kazoo_observer_test.py CHORUS_SERVER

While a fifth server joins as a voter and then the leader is removed (it
hands leadership over first) and stopped, the observer's session stays alive
and its ephemeral node stays, its watch fires for a write made through a
voter, its writes succeed and a sync+read on it sees every write
acknowledged through the voters. Once its client closes, the ephemeral is
gone everywhere. The exit status is the number of checks that failed."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from kazoo.client import KazooClient

from zklib import ServerProcesses, check, failures, free_ports, until

SERVER = sys.argv[1]


class Servers(ServerProcesses):
    """chorus-servers with --zookeeper and --admin, started one by one."""

    def __init__(self, workdir, n):
        self.workdir = workdir
        ports = free_ports(4 * n)
        self.peer = {i + 1: ports[i] for i in range(n)}
        self.client = {i + 1: ports[n + i] for i in range(n)}
        self.zk = {i + 1: ports[2 * n + i] for i in range(n)}
        self.admin = {i + 1: ports[3 * n + i] for i in range(n)}
        self.procs = {}

    def start(self, i, *membership):
        cmd = [SERVER, "--id", str(i), "--data-dir", os.path.join(self.workdir, f"data{i}"),
               "--client", f"127.0.0.1:{self.client[i]}",
               "--zookeeper", f"127.0.0.1:{self.zk[i]}",
               "--admin", f"127.0.0.1:{self.admin[i]}"] + list(membership)
        with open(os.path.join(self.workdir, f"server{i}.log"), "ab") as log:
            self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def membership(self, i):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin[i]}/membership",
                                        timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            return None

    def change(self, i, what, timeout=60):
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin[i]}/membership/{what}",
                                     method="POST")
        with urllib.request.urlopen(req, timeout=timeout + 5) as r:
            answer = json.loads(r.read())
        print(f"     POST /membership/{what}: {answer['result']}", flush=True)
        return answer

    def tail_logs(self, lines=30):
        out = []
        for i in sorted(self.procs):
            with open(os.path.join(self.workdir, f"server{i}.log"), errors="replace") as f:
                out.append(f"---- server {i}\n" + "".join(f.readlines()[-lines:]))
        return "\n".join(out)


def kazoo(servers, ids):
    zk = KazooClient(hosts=",".join(f"127.0.0.1:{servers.zk[i]}" for i in ids), timeout=6.0,
                     randomize_hosts=False)
    zk.start(timeout=15)
    return zk


def test_observer_serves_while_voters_change(servers):
    obs = kazoo(servers, [4])  # the observer alone
    voter = kazoo(servers, [1, 2, 3, 5])
    states = []
    obs.add_listener(states.append)
    try:
        obs.ensure_path("/obs")
        obs.create("/obs/eph", b"mine", ephemeral=True)
        session = obs.client_id[0]
        voter.create("/obs/data", b"0")
        fired = threading.Event()
        obs.get("/obs/data", watch=lambda event: fired.set())
        voter.set("/obs/data", b"1")
        until(fired.is_set, what="the observer's watch")
        acked = []
        leader = servers.membership(2)["leader"]
        rest = [i for i in (1, 2, 3) if i != leader]
        for step, (target, what) in enumerate((
                (rest[0], f"add?id=5&address=127.0.0.1:{servers.peer[5]}"),
                (rest[0], f"remove?id={leader}"))):
            if what.startswith("add"):
                servers.start(5, "--peers", f"5=127.0.0.1:{servers.peer[5]}", "--join",
                              f"127.0.0.1:{servers.admin[rest[0]]}")
            servers.change(target, what)
            if what.startswith("remove"):
                servers.kill(leader)
            for k in range(20):
                voter.set("/obs/data", f"{step}-{k}".encode())
                acked.append(f"{step}-{k}")
                obs.set("/obs/eph", f"{step}-{k}".encode())  # a write through the observer
            obs.sync("/obs/data")
            assert obs.get("/obs/data")[0].decode() == acked[-1], "a sync+read missed a write"
            assert voter.exists("/obs/eph").ephemeralOwner == session, "the ephemeral moved"
        assert obs.client_id[0] == session and "LOST" not in [str(s) for s in states], states
        members = servers.membership(5)
        assert sorted(v["id"] for v in members["voters"]) == sorted(rest + [5]), members
        assert [o["id"] for o in members["observers"]] == [4], members
        print(f"     observer 4 kept session {session:#x} and its ephemeral while server 5 "
              f"joined and server {leader}, the leader, left; connection states seen: "
              f"{[str(s) for s in states] or 'none'}")
    finally:
        obs.stop()
        obs.close()
    until(lambda: voter.exists("/obs/eph") is None, what="the ephemeral to go with its session")
    voter.stop()


def main():
    with tempfile.TemporaryDirectory(prefix="chorus-kazoo-observer-") as workdir:
        servers = Servers(workdir, 5)
        try:
            peers = ",".join(f"{i}=127.0.0.1:{servers.peer[i]}" for i in (1, 2, 3))
            for i in (1, 2, 3):
                servers.start(i, "--peers", peers, "--bootstrap")
            until(lambda: all(servers.membership(i) for i in (1, 2, 3)), timeout=30,
                  what="three servers up")
            servers.start(4, "--peers", f"4=127.0.0.1:{servers.peer[4]}", "--join",
                          f"127.0.0.1:{servers.admin[1]}")
            servers.change(1, f"add?id=4&address=127.0.0.1:{servers.peer[4]}&as=observer")
            check("an observer serves reads, sessions, watches and writes while voters come "
                  "and go", test_observer_serves_while_voters_change, servers)
        finally:
            servers.stop_all()
            if failures:
                print(servers.tail_logs())
    print(f"{len(failures)} failed" if failures else "all passed")
    return len(failures)


if __name__ == "__main__":
    sys.exit(main())
