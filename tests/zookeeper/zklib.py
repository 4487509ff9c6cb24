"""Helpers for testing chorus's ZooKeeper front end from Python: a
chorus-server ensemble on loopback ports, each with --zookeeper, and a raw
ZooKeeper connection that writes jute by hand (for what a well-behaved
client never sends). Only 127.0.0.1; only processes we started are
stopped, by PID."""
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "process"))
from kvlib import ServerProcesses, free_ports  # noqa: E402

# ZooKeeper's opcodes and error codes (ZooDefs.OpCode, KeeperException.Code).
OP_CREATE, OP_DELETE, OP_EXISTS, OP_GET_DATA, OP_SET_DATA = 1, 2, 3, 4, 5
OP_GET_CHILDREN, OP_SYNC, OP_PING, OP_CLOSE, OP_SET_WATCHES = 8, 9, 11, -11, 101
OP_MULTI, OP_CREATE_CONTAINER, OP_CREATE_TTL, OP_MULTI_READ = 14, 19, 21, 22
OP_GET_EPHEMERALS, OP_GET_ALL_CHILDREN_NUMBER, OP_WHO_AM_I = 103, 104, 107
OP_GET_CHILDREN2, OP_CHECK_VERSION, OP_CREATE2 = 12, 13, 15
OP_CHECK_WATCHES, OP_REMOVE_WATCHES, OP_ADD_WATCH = 17, 18, 106
OP_GET_ACL, OP_SET_ACL, OP_AUTH = 6, 7, 100
ZOK, ZUNIMPLEMENTED, ZBADARGUMENTS, ZNONODE = 0, -6, -8, -101


class Ensemble(ServerProcesses):
    """n chorus-servers; ZooKeeper clients connect to zk_ports."""

    def __init__(self, server, workdir, n=3, extra_args=()):
        self.server = server
        self.workdir = workdir
        self.n = n
        ports = free_ports(3 * n)
        self.peer_ports = {i + 1: ports[i] for i in range(n)}
        self.client_ports = {i + 1: ports[n + i] for i in range(n)}
        self.zk_ports = {i + 1: ports[2 * n + i] for i in range(n)}
        self.peers = ",".join(f"{i}=127.0.0.1:{p}" for i, p in self.peer_ports.items())
        self.procs = {}
        self.extra_args = list(extra_args)
        self.started_once = set()

    def hosts(self, order=None):
        """A ZooKeeper connect string, servers in `order` (default 1..n)."""
        order = order or range(1, self.n + 1)
        return ",".join(f"127.0.0.1:{self.zk_ports[i]}" for i in order)

    def client_servers(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.client_ports.values())

    def log(self, i):
        return os.path.join(self.workdir, f"server{i}.log")

    def start(self, i):
        cmd = [self.server, "--id", str(i), "--peers", self.peers,
               "--data-dir", os.path.join(self.workdir, f"data{i}"),
               "--client", f"127.0.0.1:{self.client_ports[i]}",
               "--zookeeper", f"127.0.0.1:{self.zk_ports[i]}"] + self.extra_args
        if i not in self.started_once:
            cmd.append("--bootstrap")
            self.started_once.add(i)
        with open(self.log(i), "ab") as log:
            self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def start_all(self):
        for i in range(1, self.n + 1):
            self.start(i)

    def four(self, i, word, timeout=2.0):
        """A four-letter word's answer from server i ("" if none)."""
        try:
            s = socket.create_connection(("127.0.0.1", self.zk_ports[i]), timeout=timeout)
        except OSError:
            return ""
        try:
            s.sendall(word.encode())
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
            return out.decode(errors="replace")
        except OSError:
            return ""
        finally:
            s.close()

    def mntr(self, i):
        """Server i's mntr figures as a dict ({} if it does not answer)."""
        out = {}
        for line in self.four(i, "mntr").splitlines():
            if "\t" in line:
                k, v = line.split("\t", 1)
                out[k] = v
        return out

    def wait_serving(self, timeout=30.0):
        """The leader's id once every running server serves; None on timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            states = {i: self.mntr(i).get("zk_server_state")
                      for i in range(1, self.n + 1) if self.alive(i)}
            if states and all(states.values()):
                leaders = [i for i, s in states.items() if s == "leader"]
                if leaders:
                    return leaders[0]
            time.sleep(0.05)
        return None

    def tail_logs(self, lines=30):
        out = []
        for i in range(1, self.n + 1):
            try:
                with open(self.log(i), errors="replace") as f:
                    out.append(f"---- server {i}\n" + "".join(f.readlines()[-lines:]))
            except OSError:
                pass
        return "\n".join(out)


# --- checks: each prints a line; `failures` names those that failed ---

failures = []

def check(name, fn, *args):
    start = time.time()
    try:
        fn(*args)
        print(f"ok   {name} ({time.time() - start:.1f} s)", flush=True)
    except Exception:  # noqa: BLE001 - any failure is reported and counted
        failures.append(name)
        print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)


def until(condition, timeout=15.0, what="the condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --- jute by hand ---

def jint(v):
    return struct.pack(">i", v)


def jlong(v):
    return struct.pack(">q", v)


def jbuf(b):
    if b is None:
        return jint(-1)
    if isinstance(b, str):
        b = b.encode()
    return jint(len(b)) + b


def frame(body):
    return struct.pack(">I", len(body)) + body


class Raw:
    """One ZooKeeper connection, spoken by hand."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.session_id = 0
        self.password = b""
        self.xid = 0

    def send(self, data):
        self.sock.sendall(data)

    def read_frame(self):
        """The next frame's body; None once the server closed the connection."""
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack(">I", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return body
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def closed(self):
        """True if the server closes the connection (within the timeout)."""
        return self.read_frame() is None

    def connect(self, session_id=0, password=b"\0" * 16, timeout_ms=4000, last_zxid=0):
        """The ConnectResponse as (timeout, session_id, password), or None."""
        body = (jint(0) + jlong(last_zxid) + jint(timeout_ms) + jlong(session_id) +
                jbuf(password) + b"\0")
        self.send(frame(body))
        r = self.read_frame()
        if r is None:
            return None
        _, timeout, sid = struct.unpack(">iiq", r[:16])
        (plen,) = struct.unpack(">i", r[16:20])
        self.session_id, self.password = sid, r[20:20 + plen]
        return timeout, sid, self.password

    def request(self, op, body=b"", xid=None):
        """Sends one request; returns its xid."""
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.send(frame(jint(xid) + jint(op) + body))
        return xid

    def reply(self):
        """(xid, zxid, err, rest) of the next frame, or None if closed."""
        r = self.read_frame()
        if r is None:
            return None
        xid, zxid, err = struct.unpack(">iqi", r[:16])
        return xid, zxid, err, r[16:]

    def call(self, op, body=b""):
        xid = self.request(op, body)
        while True:
            r = self.reply()
            if r is None or r[0] == xid:
                return r

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def path_watch(path, watch=False):
    return jbuf(path) + (b"\1" if watch else b"\0")


def create_body(path, data=b"", flags=0):
    # One ACL: world:anyone, all permissions.
    return jbuf(path) + jbuf(data) + jint(1) + jint(31) + jbuf("world") + jbuf("anyone") + jint(flags)


def set_data_body(path, data, version=-1):
    return jbuf(path) + jbuf(data) + jint(version)


# --- a real ZooKeeper, to compare with ---

ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"


def zookeeper_installed():
    return os.path.exists(ZOOKEEPER_JAR) and os.path.exists("/usr/bin/java")


class RealZooKeeper:
    """A standalone ZooKeeper 3.8 from Debian's zookeeper package, on a free
    loopback port, with its data in `workdir`."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "zookeeper")
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        (self.port,) = free_ports(1)
        with open(os.path.join(self.dir, "zoo.cfg"), "w") as cfg:
            cfg.write(f"tickTime=2000\ndataDir={self.dir}/data\nclientPort={self.port}\n"
                      "clientPortAddress=127.0.0.1\nmaxClientCnxns=0\n"
                      "admin.enableServer=false\n4lw.commands.whitelist=*\n")
        with open(os.path.join(self.dir, "log4j.properties"), "w") as f:
            f.write("log4j.rootLogger=WARN, file\n"
                    "log4j.appender.file=org.apache.log4j.FileAppender\n"
                    f"log4j.appender.file.File={self.dir}/zookeeper.log\n"
                    "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.file.layout.ConversionPattern=%d %-5p %c{1} - %m%n\n")
        classpath = ":".join([self.dir, ZOOKEEPER_JAR, "/usr/share/java/slf4j-log4j12.jar",
                              "/usr/share/java/log4j-1.2.jar"])
        self.proc = subprocess.Popen(
            ["/usr/bin/java", "-Xmx512m", f"-Dzookeeper.log.dir={self.dir}",
             f"-Dlog4j.configuration=file:{self.dir}/log4j.properties", "-cp", classpath,
             "org.apache.zookeeper.server.ZooKeeperServerMain", f"{self.dir}/zoo.cfg"],
            stdout=open(os.path.join(self.dir, "stdout.log"), "wb"), stderr=subprocess.STDOUT)

    def wait_serving(self, timeout=60.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            # A session it opens, not only "imok": ruok answers before the
            # server takes sessions.
            try:
                raw = Raw(self.port, timeout=2)
                answer = raw.connect()
                if answer is not None:
                    raw.call(OP_CLOSE)
                raw.close()
                if answer is not None and answer[1] != 0:
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
