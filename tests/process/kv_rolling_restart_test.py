#!/usr/bin/env python3
"""A rolling restart of a three-server kv ensemble under continuous writes
(issue 17): each follower is stopped with SIGTERM and started again, then
the leader last, which hands leadership over before it stops
(docs/protocol.md, "Leadership transfer"). Then `chorusctl
transfer-leader` moves leadership on purpose.

What must hold: no request fails or ends uncertain (an answer of
UnknownOutcome or Timeout, or a connection closed with a request
unanswered); requests refused while a server stops (NotLeader, Busy, a
refused connection) are sent again elsewhere, as a client library would;
no acknowledged write is lost; every server ends with the same digest; the
old leader's log says it handed over; and the longest gap between
acknowledged writes stays under a second.

Usage: kv_rolling_restart_test.py KV_BINARY CHORUSCTL_BINARY"""
import os
import select
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvlib  # noqa: E402


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def closed_by_peer(sock):
    """True if the server has closed this idle connection (a FIN waits)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class Writer(threading.Thread):
    """Puts wN-0, wN-1, ... one at a time over one kept connection per
    server, moving to the next server on a refusal (and leaving a refusing
    server alone for a second). Every outcome is classed: acknowledged,
    refused before it was taken (safe to send again), or uncertain."""

    def __init__(self, name, ports):
        super().__init__(daemon=True)
        self.name, self.ports = name, ports
        self.acked = []
        self.refused = 0
        self.uncertain = []  # (key, what happened)
        self.longest_gap = 0.0
        self.stop = threading.Event()
        self.conns = {}
        self.resting_until = {}

    def conn(self, port):
        c = self.conns.get(port)
        if c is not None and closed_by_peer(c.sock):
            # That server went away while we were elsewhere: anything
            # written here now would be read by no one.
            self.drop(port)
            c = None
        if c is None:
            c = self.conns[port] = kvlib.Conn(port, timeout=5.0)
        return c

    def drop(self, port):
        c = self.conns.pop(port, None)
        if c:
            c.close()

    def run(self):
        k, turn = 0, 0
        last_ack = time.time()
        while not self.stop.is_set():
            now = time.time()
            candidates = [p for p in self.ports if self.resting_until.get(p, 0) <= now]
            if not candidates:
                time.sleep(0.01)
                continue
            port = candidates[turn % len(candidates)]
            turn += 1
            key = f"{self.name}-{k}"
            try:
                c = self.conn(port)
            except OSError:
                self.refused += 1  # not even connected: nothing was sent
                self.resting_until[port] = now + 1.0
                continue
            try:
                c.sock.sendall(f"put {key} v{k}\n".encode())
            except OSError:
                # Closed before we wrote: the server never read it.
                self.drop(port)
                self.refused += 1
                continue
            try:
                answer = c.answer()
            except (OSError, ConnectionError) as e:
                self.drop(port)
                self.uncertain.append((key, f"no answer from port {port}: {e}"))
                k += 1
                continue
            if answer.startswith("ok"):
                self.acked.append(key)
                t = time.time()
                self.longest_gap = max(self.longest_gap, t - last_ack)
                last_ack = t
                k += 1
            elif answer.startswith("error NotLeader") or answer.startswith("error Busy"):
                self.refused += 1
                self.resting_until[port] = time.time() + 1.0
                self.drop(port)  # it may be stopping: connect afresh next time
            else:
                self.uncertain.append((key, answer))
                k += 1
        for port in list(self.conns):
            self.drop(port)


def main():
    kv, ctl = sys.argv[1], sys.argv[2]
    workdir = tempfile.mkdtemp(prefix="chorus-rolling-test-")
    e = kvlib.Ensemble(kv, workdir, n=3, admin=True,
                       extra_args=["--election-timeout-ticks", "50"])
    writers = []
    ok = False
    try:
        e.start_all()
        check(e.wait_for_leader(timeout=20) is not None, "a first leader")
        check(e.wait_all_serving(timeout=20), "every server serving")
        writers = [Writer(f"w{i}", list(e.client_ports.values())) for i in (1, 2)]
        for w in writers:
            w.start()

        def acked():
            return sum(len(w.acked) for w in writers)

        kvlib.wait_until("the first writes", lambda: acked() >= 100)
        first_leader = e.leader()
        order = [i for i in (1, 2, 3) if i != first_leader] + [first_leader]
        for i in order:
            was_leader = i == e.leader()
            before = acked()
            t0 = time.time()
            rc = e.kill(i, signal.SIGTERM)
            stopped_s = time.time() - t0
            check(rc == 0, f"server {i} exited {rc} on SIGTERM")
            with open(os.path.join(workdir, f"server{i}.log"), errors="replace") as f:
                log = f.read()
            if was_leader:
                check("handed leadership over before stopping" in log,
                      f"server {i} led and did not hand over")
                check(e.wait_for_leader(timeout=10, exclude=i) is not None, "a new leader")
            check("still in flight" not in log, f"server {i} stopped with requests in flight")
            print(f"server {i} ({'leader' if was_leader else 'follower'}) stopped in "
                  f"{stopped_s * 1000:.0f} ms")
            kvlib.wait_until(f"writes without server {i}", lambda: acked() >= before + 50)
            e.start(i, bootstrap=False)
            kvlib.wait_until(f"server {i} serving again",
                             lambda: (e.status(i) or {}).get("serving") == "yes", timeout=20)
            n = acked()
            kvlib.wait_until(f"writes after server {i} is back", lambda: acked() >= n + 50)

        # Leadership moved on purpose, to a named follower.
        leader = e.leader()
        target = next(i for i in (3, 2, 1) if i != leader)
        r = kvlib.chorusctl(ctl, e.admin_ports[leader], "transfer-leader", str(target),
                            "--wait-s", "30")
        check(r.returncode == 0 and f"server {target} leads" in r.stdout,
              "chorusctl transfer-leader")
        check(e.leader() == target, f"server {target} leads after the transfer")
        n = acked()
        kvlib.wait_until("writes after the transfer", lambda: acked() >= n + 50)

        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(timeout=10)
        uncertain = [u for w in writers for u in w.uncertain]
        check(not uncertain, f"uncertain or failed requests: {uncertain[:5]}")
        keys = [k for w in writers for k in w.acked]
        for i in (1, 2, 3):
            c = kvlib.Conn(e.client_ports[i], timeout=5.0)
            check(c.ask("sync").startswith("ok"), f"sync on {i}")
            missing = [k for k in keys
                       if c.ask(f"get {k}") != f"value v{k.split('-')[1]}"]
            check(not missing, f"server {i} lacks acknowledged writes {missing[:5]}")
            c.close()
        digests = {i: kvlib.ask(e.client_ports[i], "digest").split(" zxid")[0] for i in (1, 2, 3)}
        check(len(set(digests.values())) == 1, f"digests differ: {digests}")
        gap = max(w.longest_gap for w in writers)
        check(gap < 1.0, f"a gap of {gap * 1000:.0f} ms between acknowledged writes")
        print(f"rolling restart (servers {order}, the leader last) and a transfer under "
              f"writes: {len(keys)} acknowledged, {sum(w.refused for w in writers)} refused "
              f"and sent again, 0 uncertain, none lost; longest gap {gap * 1000:.0f} ms; "
              f"digests equal")
        ok = True
        return 0
    finally:
        for w in writers:
            w.stop.set()
        e.stop_all()
        kvlib.finish(workdir, (1, 2, 3), ok)


if __name__ == "__main__":
    sys.exit(main())
