"""Helpers for driving kv servers from Python: start/stop processes on free
loopback ports, and speak the line protocol. Used by the process tests and
the README's main job. Only 127.0.0.1; only processes we started are killed."""
import os
import shutil
import signal
import socket
import subprocess
import threading
import time


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1, below the kernel's ephemeral
    range (32768-60999 here): a port the kernel handed out for bind(0) may
    be handed out again as the local port of some outgoing connection before
    our server binds it; ports below the range never are."""
    import random
    rng = random.Random()
    ports = []
    while len(ports) < n:
        port = rng.randrange(20000, 32000)
        if port in ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        ports.append(port)
    return ports


class ServerProcesses:
    """The servers an ensemble helper started, by id in self.procs: whether
    each is alive, and stopping them (only these, by PID)."""

    procs = None  # id -> subprocess.Popen, set by the subclass

    def alive(self, i):
        p = self.procs.get(i)
        return p is not None and p.poll() is None

    def kill(self, i, sig=signal.SIGKILL):
        p = self.procs.get(i)
        if p and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for i in list(self.procs):
            self.kill(i, signal.SIGTERM)


class Conn:
    """One line-protocol connection to a kv server."""

    def __init__(self, port, timeout=2.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""

    def ask(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.answer()

    def answer(self):
        """The next answer line (to a line already sent)."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        answer, self.buf = self.buf.split(b"\n", 1)
        return answer.decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def ask(port, line, timeout=2.0):
    """One request on a fresh connection; None if the server cannot be reached."""
    try:
        c = Conn(port, timeout)
        try:
            return c.ask(line)
        finally:
            c.close()
    except (OSError, ConnectionError):
        return None


def parse_status(text):
    if not text or not text.startswith("role "):
        return None
    words = text.split()
    return dict(zip(words[0::2], words[1::2]))


def check(cond, what):
    """Raises AssertionError(what) unless cond."""
    if not cond:
        raise AssertionError(what)


def no_write_lost(client_ports, acked):
    """After a `sync` on each server of client_ports ({id: port}), every
    key of `acked` (a Writer's) holds its value there, and the servers'
    digests agree; returns the digests."""
    for i, port in client_ports.items():
        c = Conn(port, timeout=5.0)
        check(c.ask("sync").startswith("ok"), f"sync on {i}")
        missing = [k for k in acked if c.ask(f"get key{k}") != f"value value{k}"]
        check(not missing, f"server {i} lacks acknowledged writes {missing[:5]}")
        c.close()
    digests = {i: ask(port, "digest").split(" zxid")[0] for i, port in client_ports.items()}
    check(len(set(digests.values())) == 1, f"digests differ: {digests}")
    return digests


def wait_until(what, pred, timeout=20.0):
    """Polls pred() every 50 ms; raises AssertionError naming `what` if it
    is not true within `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def finish(workdir, ids, ok, lines=40):
    """The end of a process test: its directory removed if it passed, else
    kept, and the last `lines` of each server's log printed."""
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
        return
    print(f"logs kept in {workdir}")
    for i in ids:
        path = os.path.join(workdir, f"server{i}.log")
        if os.path.exists(path):
            print(f"--- server{i}.log (last {lines} lines)")
            with open(path, errors="replace") as f:
                print("".join(f.readlines()[-lines:]))


def chorusctl(ctl, admin_port, *args):
    """Runs chorusctl against one admin port, printing the command and its
    output; the CompletedProcess."""
    r = subprocess.run([ctl, "--servers", f"127.0.0.1:{admin_port}"] + list(args),
                       capture_output=True, text=True, timeout=120)
    print(f"$ chorusctl {' '.join(args)}  (rc {r.returncode})")
    for line in (r.stdout + r.stderr).strip().splitlines():
        print("    " + line)
    return r


class Writer(threading.Thread):
    """Writes key0, key1, ... one at a time through the servers in turn,
    until stopped; remembers which were acknowledged. Retries what was not
    applied (NotLeader, Busy), and what may have been (a put is idempotent)."""

    def __init__(self, ports):
        super().__init__(daemon=True)
        self.ports = ports  # a list, grown as servers join
        self.acked = []
        self.stop = threading.Event()
        self.longest_gap = 0.0

    def run(self):
        k = 0
        tries = 0  # a failed put is tried again on the next server
        last_ack = time.time()
        while not self.stop.is_set():
            port = self.ports[(k + tries) % len(self.ports)]
            answer = ask(port, f"put key{k} value{k}", timeout=3.0)
            if answer and answer.startswith("ok"):
                self.acked.append(k)
                now = time.time()
                self.longest_gap = max(self.longest_gap, now - last_ack)
                last_ack = now
                k += 1
            else:
                tries += 1
                time.sleep(0.02)


class KvServer:
    """One kv server on loopback ports of its own, started with whatever
    membership flags a test gives (--peers and --bootstrap, or --join)."""

    def __init__(self, kv, workdir, i, peer, client, admin):
        self.i, self.peer, self.client, self.admin = i, peer, client, admin
        self.kv, self.workdir = kv, workdir
        self.proc = None

    def start(self, *args):
        cmd = [self.kv, "--id", str(self.i), "--data-dir",
               os.path.join(self.workdir, f"server{self.i}"),
               "--client", f"127.0.0.1:{self.client}", "--admin", f"127.0.0.1:{self.admin}",
               "--election-timeout-ticks", "50"] + list(args)
        log = open(os.path.join(self.workdir, f"server{self.i}.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def status(self):
        return parse_status(ask(self.client, "status", timeout=1.0))

    def stop(self, sig=signal.SIGTERM):
        """Signals the process and waits for it (SIGKILL after 20 s)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Ensemble:
    """Three (or n) kv servers on loopback, each with its own data dir (and,
    with admin=True, an --admin port each, in admin_ports)."""

    def __init__(self, kv_binary, workdir, n=3, extra_args=(), admin=False):
        self.kv = kv_binary
        self.workdir = workdir
        self.n = n
        ports = free_ports(3 * n if admin else 2 * n)
        self.peer_ports = {i + 1: ports[i] for i in range(n)}
        self.client_ports = {i + 1: ports[n + i] for i in range(n)}
        self.admin_ports = {i + 1: ports[2 * n + i] for i in range(n)} if admin else {}
        self.peers = ",".join(f"{i}=127.0.0.1:{p}" for i, p in self.peer_ports.items())
        self.procs = {}
        self.extra_args = list(extra_args)

    def data_dir(self, i):
        return os.path.join(self.workdir, f"server{i}")

    def start(self, i, bootstrap=True):
        args = [self.kv, "--id", str(i), "--peers", self.peers, "--data-dir", self.data_dir(i),
                "--client", f"127.0.0.1:{self.client_ports[i]}"] + self.extra_args
        if i in self.admin_ports:
            args += ["--admin", f"127.0.0.1:{self.admin_ports[i]}"]
        if bootstrap:
            args.append("--bootstrap")
        log = open(os.path.join(self.workdir, f"server{i}.log"), "ab")
        self.procs[i] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def start_all(self):
        for i in range(1, self.n + 1):
            self.start(i)

    def kill(self, i, sig=signal.SIGKILL):
        p = self.procs.get(i)
        if p and p.poll() is None:
            p.send_signal(sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                try:
                    return p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    return p.wait()
        return None

    def alive(self, i):
        p = self.procs.get(i)
        return p is not None and p.poll() is None

    def status(self, i):
        return parse_status(ask(self.client_ports[i], "status", timeout=1.0))

    def leader(self):
        """The id of the serving leader, as the leader itself says, or None."""
        for i in range(1, self.n + 1):
            if not self.alive(i):
                continue
            st = self.status(i)
            if st and st.get("role") == "leading" and st.get("serving") == "yes":
                return i
        return None

    def wait_for_leader(self, timeout=15.0, exclude=None):
        deadline = time.time() + timeout
        while time.time() < deadline:
            l = self.leader()
            if l is not None and l != exclude:
                return l
            time.sleep(0.02)
        return None

    def wait_all_serving(self, timeout=15.0):
        """True once every running server serves (a follower finishes its sync
        a moment after the leader starts serving)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            states = [self.status(i) for i in range(1, self.n + 1) if self.alive(i)]
            if states and all(s and s.get("serving") == "yes" for s in states):
                return True
            time.sleep(0.02)
        return False

    def stop_all(self):
        for i, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait()
