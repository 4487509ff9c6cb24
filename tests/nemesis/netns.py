"""Network namespaces for process tests that cut links: the registry's chaos
test (issue 16) now, the nemesis of issue 19 later.

    net = Network("rc", ["m1", "m2", "m3", "rs1"])   # needs root, ip, nft
    try:
        net.enter_hub()                  # this process now lives in the hub
        p = net.spawn("m1", [binary, ...], log_file)
        net.isolate("m1"); ...; net.heal()
    finally:
        net.close()                      # kills what is left, removes it all

The layout: a hub namespace holds a bridge; every node has a namespace of
its own, joined to the bridge by a veth pair. Node k (1-based, in the order
given) has the address 10.99.0.k, the hub 10.99.0.254. The test driver and
the clients it starts run in the hub; each server runs in its node.

Faults are nftables rules in the input chain of the receiving namespace, so
a cut link drops packets silently, as a real partition does: no reset, no
ICMP, and nothing the sender's own stack can see (a drop in the sender's
output chain would fail its send with EPERM at once, which no network does).
`block` is one way; `isolate`, `split` and `bridge` are built from it.

Cleanup: close() kills every process still in the namespaces and deletes
them. A driver that died without it leaves namespaces named after its PID;
the next Network removes those whose PID is gone (stale_cleanup), killing
what runs in them first. Nothing else on the machine is touched."""
import ctypes
import os
import re
import signal
import subprocess
import time

SUBNET = "10.99.0"
HUB_ADDRESS = SUBNET + ".254"
_PREFIX = "chn"
_CLONE_NEWNET = 0x40000000


class Unavailable(Exception):
    """Why namespaces cannot be used here (not root, a tool missing)."""


def _run(argv, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), r.stderr.strip() or r.returncode))
    return r


def check_available():
    """Raises Unavailable with the reason when this machine cannot run it."""
    if os.geteuid() != 0:
        raise Unavailable("network namespaces need root (run the test as root)")
    for tool in ("ip", "nft"):
        if _run(["sh", "-c", "command -v " + tool], check=False).returncode != 0:
            raise Unavailable("'%s' is not installed (Debian: iproute2, nftables)" % tool)


def _namespaces():
    r = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _kill_all_in(ns):
    r = _run(["ip", "netns", "pids", ns], check=False)
    for pid in r.stdout.split():
        if pid == str(os.getpid()):
            continue  # the driver itself, after enter_hub()
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stale_cleanup():
    """Removes namespaces left by drivers that died (their PID is gone)."""
    for ns in _namespaces():
        m = re.fullmatch(_PREFIX + r"(\d+)[a-z]+\d*", ns)
        if m and not _pid_alive(int(m.group(1))):
            _kill_all_in(ns)
            _run(["ip", "netns", "del", ns], check=False)


class Network:
    """A hub and one namespace per node; see the module's comment."""

    def __init__(self, tag, nodes):
        check_available()
        stale_cleanup()
        if not re.fullmatch(r"[a-z]{1,4}", tag):
            raise ValueError("tag: 1 to 4 lower-case letters")
        if len(nodes) > 250:
            raise ValueError("at most 250 nodes")
        self.nodes = list(nodes)
        base = "%s%d%s" % (_PREFIX, os.getpid(), tag)
        self.hub = base + "h"
        self._ns = {name: "%sn%d" % (base, k + 1) for k, name in enumerate(self.nodes)}
        self._address = {name: "%s.%d" % (SUBNET, k + 1) for k, name in enumerate(self.nodes)}
        self._address["hub"] = HUB_ADDRESS
        self._blocked = set()  # (src, dst) pairs cut now
        self._procs = []
        self._made = []
        try:
            self._build()
        except Exception:
            self.close()
            raise

    # ---- layout ----

    def _ip(self, ns, *args):
        return _run(["ip", "-n", ns] + list(args))

    def _build(self):
        _run(["ip", "netns", "add", self.hub])
        self._made.append(self.hub)
        self._ip(self.hub, "link", "set", "lo", "up")
        self._ip(self.hub, "link", "add", "br0", "type", "bridge")
        self._ip(self.hub, "addr", "add", HUB_ADDRESS + "/24", "dev", "br0")
        self._ip(self.hub, "link", "set", "br0", "up")
        self._nft_table(self.hub)
        for k, name in enumerate(self.nodes):
            ns = self._ns[name]
            _run(["ip", "netns", "add", ns])
            self._made.append(ns)
            self._ip(ns, "link", "set", "lo", "up")
            port = "v%d" % (k + 1)
            self._ip(self.hub, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                     "netns", ns)
            self._ip(self.hub, "link", "set", port, "master", "br0")
            self._ip(self.hub, "link", "set", port, "up")
            self._ip(ns, "addr", "add", self._address[name] + "/24", "dev", "eth0")
            self._ip(ns, "link", "set", "eth0", "up")
            self._nft_table(ns)

    def _nft(self, ns, *rule):
        _run(["ip", "netns", "exec", ns, "nft"] + list(rule))

    def _nft_table(self, ns):
        self._nft(ns, "add", "table", "inet", "nemesis")
        self._nft(ns, "add", "chain", "inet", "nemesis", "input",
                  "{ type filter hook input priority 0; policy accept; }")

    def _namespace_of(self, name):
        return self.hub if name == "hub" else self._ns[name]

    def address(self, name):
        """The IPv4 address of a node, or of "hub"."""
        return self._address[name]

    def enter_hub(self):
        """Moves this process into the hub, so that it reaches every node.
        Call it before starting any thread: only threads made afterwards
        follow (setns changes the calling thread)."""
        libc = ctypes.CDLL(None, use_errno=True)
        with open("/run/netns/" + self.hub) as f:
            if libc.setns(f.fileno(), _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into " + self.hub)

    def spawn(self, name, argv, log_path, env=None):
        """Starts argv in node `name` (or "hub"), output to log_path. `ip
        netns exec` execs the program, so the Popen's PID is the program's."""
        log = open(log_path, "ab")
        p = subprocess.Popen(["ip", "netns", "exec", self._namespace_of(name)] + list(argv),
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self._procs.append(p)
        return p

    # ---- faults ----

    def block(self, src, dst):
        """Drops every packet from src to dst (one way; nodes or "hub")."""
        if src == dst or (src, dst) in self._blocked:
            return
        self._nft(self._namespace_of(dst), "add", "rule", "inet", "nemesis", "input",
                  "ip", "saddr", self._address[src], "drop")
        self._blocked.add((src, dst))

    def cut(self, a, b):
        """Both ways between a and b."""
        self.block(a, b)
        self.block(b, a)

    def isolate(self, name, from_hub=True):
        """Cuts `name` from every other node, and from the hub unless told."""
        for other in self.nodes:
            if other != name:
                self.cut(name, other)
        if from_hub:
            self.cut(name, "hub")

    def split(self, *groups):
        """Cuts every link between nodes of different groups (the hub still
        reaches everyone)."""
        for i, g in enumerate(groups):
            for h in groups[i + 1:]:
                for a in g:
                    for b in h:
                        self.cut(a, b)

    def bridge(self, middle, left, right):
        """`middle` sees both sides; the sides do not see each other."""
        self.split(list(left), list(right))
        del middle  # it keeps every link: named for the reader

    def lose(self, src, dst, percent):
        """Drops `percent` of the packets from src to dst, at random."""
        self._nft(self._namespace_of(dst), "add", "rule", "inet", "nemesis", "input",
                  "ip", "saddr", self._address[src], "numgen", "random", "mod", "100", "<",
                  str(int(percent)), "drop")
        self._blocked.add((src, dst))

    def heal(self):
        """Removes every fault."""
        for ns in [self.hub] + list(self._ns.values()):
            self._nft(ns, "flush", "chain", "inet", "nemesis", "input")
        self._blocked.clear()

    def blocked(self):
        return sorted(self._blocked)

    # ---- the end ----

    def close(self):
        """Kills what is left in the namespaces (by PID: ours only) and
        deletes them. Safe to call twice."""
        for p in self._procs:
            if p.poll() is None:
                p.kill()
        deadline = time.monotonic() + 5
        for p in self._procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for ns in reversed(self._made):
            _kill_all_in(ns)
            _run(["ip", "netns", "del", ns], check=False)
        self._made.clear()
