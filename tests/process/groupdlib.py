"""Helpers for running a groupd ensemble from Python: processes on loopback
ports, and HTTP calls to them. Used by the docs test and the README's main
job. Only 127.0.0.1; only processes we started are stopped."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time

from kvlib import ServerProcesses, free_ports


def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Answer:
    def __init__(self, status, headers, body):
        self.status = status          # 0: no answer
        self.headers = headers        # lower-case names
        self.body = body

    @property
    def version(self):
        return int(self.headers.get("x-group-version", "-1"))

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def call(port, method, path, body=None, timeout=5.0):
    """One HTTP request to 127.0.0.1:port; Answer(0, ...) if none came."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
    except (OSError, http.client.HTTPException) as e:
        return Answer(0, {}, str(e))
    finally:
        conn.close()


class Ensemble(ServerProcesses):
    """Three (or n) groupd servers. `preferred_http` and `preferred_peers`
    are used when all of them are free (so printed commands are the ones in
    docs/groupd.md); otherwise free ports are picked."""

    def __init__(self, groupd, workdir, n=3, preferred_http=None, preferred_peers=None,
                 extra_args=()):
        self.groupd = groupd
        self.workdir = workdir
        self.n = n
        wanted = list(preferred_http or []) + list(preferred_peers or [])
        if wanted and len(wanted) == 2 * n and all(port_free(p) for p in wanted):
            ports = wanted
        else:
            ports = free_ports(2 * n)
        self.http_ports = {i + 1: ports[i] for i in range(n)}
        self.peer_ports = {i + 1: ports[n + i] for i in range(n)}
        self.peers = ",".join(f"{i}=127.0.0.1:{p}" for i, p in self.peer_ports.items())
        self.procs = {}
        self.extra_args = list(extra_args)

    def command(self, i):
        return [self.groupd, "--id", str(i), "--peers", self.peers,
                "--data-dir", os.path.join(self.workdir, f"data{i}"),
                "--http", f"127.0.0.1:{self.http_ports[i]}", "--bootstrap"] + self.extra_args

    def log(self, i):
        return os.path.join(self.workdir, f"groupd{i}.log")

    def start(self, i):
        with open(self.log(i), "ab") as log:
            self.procs[i] = subprocess.Popen(self.command(i), stdout=log, stderr=subprocess.STDOUT)

    def start_all(self):
        for i in range(1, self.n + 1):
            self.start(i)

    def status(self, i):
        return call(self.http_ports[i], "GET", "/", timeout=1.0).json()

    def wait_ready(self, timeout=30.0, endpoints=True):
        """The serving leader's id once every running server is ready (and,
        with `endpoints`, has recorded its address); None on timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            states = {i: self.status(i) for i in range(1, self.n + 1) if self.alive(i)}
            if states and all(s and s.get("ready") for s in states.values()):
                leaders = [i for i, s in states.items() if s["role"] == "leading"]
                recorded = all(len(s["endpoints"]) >= len(states) for s in states.values())
                if leaders and (recorded or not endpoints):
                    return leaders[0]
            time.sleep(0.05)
        return None

    def tail_logs(self, lines=20):
        out = []
        for i in range(1, self.n + 1):
            try:
                with open(self.log(i), errors="replace") as f:
                    out.append(f"---- groupd {i}\n" + "".join(f.readlines()[-lines:]))
            except OSError:
                pass
        return "\n".join(out)
