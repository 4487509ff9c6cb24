"""The same seeded sequence of ZooKeeper operations against a real ZooKeeper
3.8 (standalone, from Debian's zookeeper package) and against a chorus
ensemble's ZooKeeper front end, the answers compared field by field.

    differential_test.py CHORUS_SERVER [--ops N] [--seed S] [--sessions K]

K sessions (each its own connection) take turns, one operation at a time,
so both systems see the same order: creates of every mode (persistent,
ephemeral, sequential, both, container), deletes and sets with right,
wrong and any versions, exists, getData, getChildren2, getAllChildrenNumber,
getEphemerals, multi (creates, deletes, sets and checks, some meant to
fail), sync, watches set by reads, and sessions closed and opened again.
(Containers are made only where no child can come, so that when an
emptied one is swept — each system's own timing — never matters.)

What may legitimately differ is normalised, and only that:
- zxids in a Stat become the operation whose write made them ("w17");
  a zxid no write of the run made (one before it) stays "other";
- ctime and mtime become whether they are equal (both come from a clock);
- an ephemeralOwner becomes the session's number in the run;
- reply-header zxids, session ids and passwords are not compared (each
  system numbers its own).
Everything else must match: error codes, data, versions, cversions,
dataLength, numChildren, child lists, sequential names, multi results,
and each connection's watch events in order. Exit status 0 if all match;
otherwise the first difference, with both answers.

Needs ZooKeeper installed (./chorus.sh install-zookeeper); says so and
exits 77 (skipped) if it is not."""
import argparse
import base64
import hashlib
import os
import random
import struct
import sys
import tempfile
import time

from zklib import (OP_ADD_WATCH, OP_AUTH, OP_GET_ACL, OP_SET_ACL, OP_WHO_AM_I, frame, OP_CHECK_VERSION, OP_CHECK_WATCHES, OP_CLOSE, OP_CREATE, OP_CREATE2, OP_CREATE_CONTAINER,
                   OP_DELETE, OP_EXISTS, OP_GET_ALL_CHILDREN_NUMBER, OP_GET_CHILDREN2,
                   OP_GET_DATA, OP_GET_EPHEMERALS, OP_MULTI, OP_REMOVE_WATCHES, OP_SET_DATA,
                   OP_SYNC, Ensemble,
                   Raw, RealZooKeeper, create_body, jbuf, jint, path_watch, set_data_body,
                   zookeeper_installed)

SKIP = 77


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def int(self):
        (v,) = struct.unpack(">i", self.data[self.pos:self.pos + 4])
        self.pos += 4
        return v

    def long(self):
        (v,) = struct.unpack(">q", self.data[self.pos:self.pos + 8])
        self.pos += 8
        return v

    def bool(self):
        v = self.data[self.pos] != 0
        self.pos += 1
        return v

    def buf(self):
        n = self.int()
        if n < 0:
            return None
        v = self.data[self.pos:self.pos + n]
        self.pos += n
        return v

    def stat(self):
        s = {}
        for key, kind in [("czxid", "l"), ("mzxid", "l"), ("ctime", "l"), ("mtime", "l"),
                          ("version", "i"), ("cversion", "i"), ("aversion", "i"),
                          ("ephemeralOwner", "l"), ("dataLength", "i"), ("numChildren", "i"),
                          ("pzxid", "l")]:
            s[key] = self.long() if kind == "l" else self.int()
        return s

    def strings(self):
        return [self.buf().decode() for _ in range(max(0, self.int()))]

    def done(self):
        return self.pos == len(self.data)


def mh(t):
    return jint(t) + b"\0" + jint(-1)


MULTI_END = jint(-1) + b"\1" + jint(-1)


class System:
    """One system under test: its connections, and what it answered."""

    def __init__(self, name, ports, sessions):
        self.name = name
        self.ports = ports
        self.conns = [None] * sessions
        self.session_ids = [0] * sessions
        self.owner_names = {}  # session id -> "s3"
        self.events = [[] for _ in range(sessions)]
        self.write_zxids = {}  # header zxid of a write -> "w17"
        self.opened = 0

    def open(self, k):
        port = self.ports[k % len(self.ports)]
        raw = Raw(port, timeout=10)
        answer = raw.connect(timeout_ms=30000)
        if answer is None:
            raise RuntimeError(f"{self.name}: cannot open session {k}")
        # Sessions 1, 2, 4, 5, ... prove a digest identity (alice, bob).
        user = USERS[k % 3]
        if user:
            raw.send(frame(jint(-4) + jint(OP_AUTH) + jint(0) + jbuf("digest") +
                           jbuf(f"{user}:{user}-password")))
            r = raw.reply()
            if r is None or r[2] != 0:
                raise RuntimeError(f"{self.name}: addAuth of session {k} failed: {r}")
        self.conns[k] = raw
        self.session_ids[k] = answer[1]
        self.opened += 1
        self.owner_names[answer[1]] = f"s{self.opened}"

    def call(self, k, op, body):
        raw = self.conns[k]
        xid = raw.request(op, body)
        while True:
            r = raw.reply()
            if r is None:
                raise RuntimeError(f"{self.name}: connection {k} closed while waiting for op {op}")
            if r[0] == -1:  # a watch event
                rd = Reader(r[3])
                self.events[k].append((rd.int(), rd.int(), rd.buf().decode()))
                continue
            if r[0] == xid:
                return r

    def mark_unordered_events(self, begin, closed=None):
        """Before and after a transaction whose events may come in any order:
        each session's events so far are in (the answer to a read follows
        them), then a marker. (Not on the connection `closed`.)"""
        for k in range(len(self.conns)):
            if k != closed:
                self.call(k, OP_EXISTS, path_watch("/d", False))
            self.events[k].append(("unordered",) if begin else ("ordered",))

    def drain_events(self, k, wait=0.2):
        raw = self.conns[k]
        raw.sock.settimeout(wait)
        try:
            while True:
                r = raw.reply()
                if r is None:
                    break
                if r[0] == -1:
                    rd = Reader(r[3])
                    self.events[k].append((rd.int(), rd.int(), rd.buf().decode()))
        finally:
            raw.sock.settimeout(10)


USERS = [None, "alice", "bob"]


def digest(user):
    h = hashlib.sha1(f"{user}:{user}-password".encode()).digest()
    return f"{user}:{base64.b64encode(h).decode()}"


# The ACLs the workload gives nodes: (perms, scheme, id) lists.
ACLS = [
    [(31, "world", "anyone")],
    [(31, "digest", "alice")],             # the id is filled in: digest("alice")
    [(1 | 16, "digest", "bob"), (1, "world", "anyone")],
    [(31, "auth", "")],                    # the creator's digests (INVALIDACL without)
    [(31, "ip", "127.0.0.1")],
    [(31, "ip", "10.0.0.0/8")],
    [(1 | 4, "world", "anyone")],          # read and create only
    [(2 | 8, "world", "anyone"), (31, "world", "anyone")],
    [(31, "ip", "127.0.0.1/33")],          # INVALIDACL
    [(31, "world", "nobody")],             # INVALIDACL
    [],                                    # INVALIDACL
]


def acl_bytes(acl):
    out = jint(len(acl))
    for perms, scheme, ident in acl:
        if scheme == "digest":
            ident = digest(ident)
        out += jint(perms) + jbuf(scheme) + jbuf(ident)
    return out


def create_with_acl(path, data, flags, acl):
    return jbuf(path) + jbuf(data) + acl_bytes(acl) + jint(flags)


def in_comparable_order(events):
    """A session's events with those between an ("unordered",) and an
    ("ordered",) marker sorted, and the markers dropped."""
    out, run, unordered = [], [], False
    for e in events:
        if e == ("unordered",):
            unordered = True
        elif e == ("ordered",):
            out += sorted(run)
            run, unordered = [], False
        elif unordered:
            run.append(e)
        else:
            out.append(e)
    return out + sorted(run)


def normal_stat(system, s):
    def z(v):
        return system.write_zxids.get(v, "other")
    owner = s["ephemeralOwner"]
    if owner == -(1 << 63):
        owner_name = "container"
    elif owner == 0:
        owner_name = 0
    else:
        owner_name = system.owner_names.get(owner, "unknown-session")
    return {"czxid": z(s["czxid"]), "mzxid": z(s["mzxid"]), "pzxid": z(s["pzxid"]),
            "ctime==mtime": s["ctime"] == s["mtime"], "version": s["version"],
            "cversion": s["cversion"], "aversion": s["aversion"], "ephemeralOwner": owner_name,
            "dataLength": s["dataLength"], "numChildren": s["numChildren"]}


def parse(system, op, reply, multi_types=()):
    """A reply, normalised: (err, what it carried)."""
    _, _, err, rest = reply
    rd = Reader(rest)
    if err != 0:
        return (err,)
    if op in (OP_CREATE,):
        return (0, rd.buf().decode())
    if op in (OP_CREATE2, OP_CREATE_CONTAINER):
        return (0, rd.buf().decode(), normal_stat(system, rd.stat()))
    if op == OP_GET_ACL:
        acl = [(rd.int(), rd.buf().decode(), rd.buf().decode()) for _ in range(rd.int())]
        return (0, acl, normal_stat(system, rd.stat()))
    if op == OP_WHO_AM_I:
        return (0, sorted((rd.buf().decode(), rd.buf().decode()) for _ in range(rd.int())))
    if op in (OP_EXISTS, OP_SET_DATA, OP_SET_ACL):
        return (0, normal_stat(system, rd.stat()))
    if op == OP_GET_DATA:
        return (0, rd.buf(), normal_stat(system, rd.stat()))
    if op == OP_GET_CHILDREN2:
        return (0, sorted(rd.strings()), normal_stat(system, rd.stat()))
    if op == OP_GET_ALL_CHILDREN_NUMBER:
        return (0, rd.int())
    if op == OP_GET_EPHEMERALS:
        return (0, sorted(rd.strings()))
    if op == OP_SYNC:
        return (0, rd.buf().decode())
    if op == OP_MULTI:
        results = []
        while True:
            t, done, e = rd.int(), rd.bool(), rd.int()
            if done:
                break
            if t == -1:
                results.append(("error", rd.int()))
            elif t == OP_CREATE:
                results.append(("create", rd.buf().decode()))
            elif t in (OP_CREATE2, OP_CREATE_CONTAINER):
                results.append(("create2", rd.buf().decode(), normal_stat(system, rd.stat())))
            elif t == OP_SET_DATA:
                results.append(("set", normal_stat(system, rd.stat())))
            else:
                results.append((t, e))
        return (0, results)
    return (0, rest)


class Workload:
    """The seeded operations, the same for both systems."""

    def __init__(self, seed, sessions):
        self.rng = random.Random(seed)
        self.sessions = sessions
        self.names = ["a", "b", "c", "q"]
        # The persistent watches of the watcher (the extra session), as
        # ZooKeeper keeps them: a path's mode ("P" or "R") as a data watch
        # and as a child watch.
        self.data_mode = {}
        self.child_mode = {}
        # Paths another session set a watch on: ZooKeeper 3.8's checkWatches
        # answers OK for a path that any connection watches (chorus: only
        # the asking one's), so the watcher checks only paths no one else
        # ever watched.
        self.watched_by_others = set()

    def watch_step(self):
        """An addWatch, removeWatches or checkWatches of the watcher. (It sets
        no one-shot watch, and never two modes on one path's data watches:
        ZooKeeper 3.8 keeps one mode per path in each, and the later replaces
        the earlier — chorus keeps each, as ZooKeeper 3.9 does.)"""
        path = self.rng.choice(["/d", "/d/a", self.path(2)])
        r = self.rng.random()
        if r < 0.5:
            mode = self.rng.choice([0, 0, 1])
            held = self.data_mode.get(path) or self.child_mode.get(path)
            if held is not None:
                mode = 0 if held == "P" else 1
            self.data_mode[path] = self.child_mode[path] = "P" if mode == 0 else "R"
            return self.sessions, "addwatch", (path, mode)
        kind = self.rng.choice([1, 2, 3])  # child, data, any
        if r < 0.75:
            if kind != 1:
                self.data_mode.pop(path, None)
            if kind != 2:
                self.child_mode.pop(path, None)
            return self.sessions, "removewatches", (path, kind)
        if path in self.watched_by_others:
            return self.sessions, "sync", ("/d",)
        return self.sessions, "checkwatches", (path, kind)

    def path(self, depth_max=3):
        depth = self.rng.randint(1, depth_max)
        return "/d/" + "/".join(self.rng.choice(self.names) for _ in range(depth))

    def next(self):
        """(session, kind, arguments) — a plan both systems carry out."""
        step = self.plan()
        if step[1] in ("get", "exists", "children") and step[2][1]:
            self.watched_by_others.add(step[2][0])
        return step

    def plan(self):
        k = self.rng.randrange(self.sessions)
        r = self.rng.random()
        version = self.rng.choice([-1, -1, 0, 1, 2, 5])
        if r < 0.28:
            flags = self.rng.choice([0, 0, 1, 2, 3, 4])
            # Containers only at the deepest level, where no child can come:
            # when an emptied one is swept is each system's own timing.
            path = self.path() if flags != 4 else "/d/" + "/".join(
                self.rng.choice(self.names) for _ in range(3))
            acl = 0 if self.rng.random() < 0.7 else self.rng.randrange(len(ACLS))
            return k, "create", (path, self.rng.choice([b"", b"x", b"hello"]), flags,
                                 self.rng.random() < 0.5, acl)
        if r < 0.40:
            return k, "delete", (self.path(), version)
        if r < 0.52:
            return k, "set", (self.path(), self.rng.choice([b"1", b"22", b""]), version)
        if r < 0.62:
            return k, "get", (self.path(), self.rng.random() < 0.3)
        if r < 0.69:
            return k, "exists", (self.path(), self.rng.random() < 0.3)
        if r < 0.77:
            return k, "children", (self.rng.choice(["/d", self.path(2)]), self.rng.random() < 0.3)
        if r < 0.89:
            ops = []
            for _ in range(self.rng.randint(1, 4)):
                kind = self.rng.choice(["create", "delete", "set", "check"])
                ops.append((kind, self.path(), self.rng.choice([-1, 0, 1]),
                            self.rng.choice([0, 1, 2])))
            return k, "multi", (ops,)
        if r < 0.92:
            return k, "count", (self.rng.choice(["/d", self.path(1)]),)
        if r < 0.935:
            return k, "ephemerals", (self.rng.choice(["/d", "/d/a"]),)
        if r < 0.95:
            kind = self.rng.choice(["setacl", "getacl", "getacl", "whoami"])
            if kind == "setacl":
                return k, "setacl", (self.path(), self.rng.randrange(len(ACLS)),
                                     self.rng.choice([-1, -1, 0, 1]))
            if kind == "getacl":
                return k, "getacl", (self.path(),)
            return k, "whoami", ()
        if r < 0.965:
            return k, "sync", ("/d",)
        if r < 0.975:
            return k, "reconnect", ()
        return self.watch_step()


def carry_out(system, index, step):
    """Runs one planned step on `system`; its normalised answer."""
    k, kind, args = step
    if kind == "create":
        path, data, flags, with_stat, acl = args
        op = OP_CREATE_CONTAINER if flags == 4 else (OP_CREATE2 if with_stat else OP_CREATE)
        r = system.call(k, op, create_with_acl(path, data, flags, ACLS[acl]))
    elif kind == "setacl":
        op = OP_SET_ACL
        r = system.call(k, op, jbuf(args[0]) + acl_bytes(ACLS[args[1]]) + jint(args[2]))
    elif kind == "getacl":
        op = OP_GET_ACL
        r = system.call(k, op, jbuf(args[0]))
    elif kind == "whoami":
        op = OP_WHO_AM_I
        r = system.call(k, op, b"")
    elif kind == "delete":
        op = OP_DELETE
        r = system.call(k, op, jbuf(args[0]) + jint(args[1]))
    elif kind == "set":
        op = OP_SET_DATA
        r = system.call(k, op, set_data_body(*args))
    elif kind in ("get", "exists", "children"):
        op = {"get": OP_GET_DATA, "exists": OP_EXISTS, "children": OP_GET_CHILDREN2}[kind]
        r = system.call(k, op, path_watch(*args))
    elif kind == "multi":
        op = OP_MULTI
        body = b""
        for sub, path, version, flags in args[0]:
            if sub == "create":
                body += mh(OP_CREATE) + create_body(path, b"m", flags)
            elif sub == "delete":
                body += mh(OP_DELETE) + jbuf(path) + jint(version)
            elif sub == "set":
                body += mh(OP_SET_DATA) + set_data_body(path, b"ms", version)
            else:
                body += mh(OP_CHECK_VERSION) + jbuf(path) + jint(version)
        r = system.call(k, op, body + MULTI_END)
    elif kind == "count":
        op = OP_GET_ALL_CHILDREN_NUMBER
        r = system.call(k, op, jbuf(args[0]))
    elif kind == "ephemerals":
        op = OP_GET_EPHEMERALS
        r = system.call(k, op, jbuf(args[0]))
    elif kind == "sync":
        op = OP_SYNC
        r = system.call(k, op, jbuf(args[0]))
    elif kind in ("addwatch", "removewatches", "checkwatches"):
        op = {"addwatch": OP_ADD_WATCH, "removewatches": OP_REMOVE_WATCHES,
              "checkwatches": OP_CHECK_WATCHES}[kind]
        r = system.call(k, op, jbuf(args[0]) + jint(args[1]))
    else:  # reconnect: close the session (its ephemerals go) and open a new one
        op = OP_CLOSE
        # The order in which a closed session's ephemerals go is each
        # system's own (ZooKeeper's is a hash set's): the events of it are
        # compared as a set.
        system.mark_unordered_events(True)
        r = system.call(k, op, b"")
        system.mark_unordered_events(False, closed=k)
        system.drain_events(k, wait=0.05)
        system.conns[k].close()
        system.open(k)
    if op in (OP_CREATE, OP_CREATE2, OP_CREATE_CONTAINER, OP_DELETE, OP_SET_DATA, OP_MULTI,
              OP_CLOSE, OP_SET_ACL):
        system.write_zxids[r[1]] = f"w{index}"
    return parse(system, op, r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chorus_server")
    ap.add_argument("--ops", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--trace", action="store_true", help="print every step and its answer")
    a = ap.parse_args()
    if not zookeeper_installed():
        print("skipped: ZooKeeper is not installed (./chorus.sh install-zookeeper)")
        return SKIP
    workdir = tempfile.mkdtemp(prefix="chorus-zk-diff-")
    zk = RealZooKeeper(workdir)
    ens = Ensemble(a.chorus_server, workdir)
    ens.start_all()
    try:
        if not zk.wait_serving(90):
            print("FAIL: ZooKeeper did not start serving")
            return 1
        if ens.wait_serving(60) is None:
            print("FAIL: chorus did not start serving\n" + ens.tail_logs())
            return 1
        # The last session is the watcher: it holds persistent watches.
        sessions = a.sessions + 1
        systems = [System("zookeeper", [zk.port], sessions),
                   # One chorus server for every session: a read on a server
                   # that has not yet applied another client's write is
                   # allowed (ZooKeeper's reads are local too), but the
                   # standalone ZooKeeper never shows it.
                   System("chorus", [ens.zk_ports[1]], sessions)]
        for s in systems:
            for k in range(sessions):
                s.open(k)
            r = s.call(0, OP_CREATE, create_body("/d", b""))
            assert r[2] == 0, (s.name, r)
        work = Workload(a.seed, a.sessions)
        started = time.time()
        kinds = {}
        for i in range(a.ops):
            step = work.next()
            kinds[step[1]] = kinds.get(step[1], 0) + 1
            answers = [carry_out(s, i, step) for s in systems]
            if a.trace:
                print(f"{i} {step} -> {answers[1]}")
            if answers[0] != answers[1]:
                print(f"FAIL: op {i} ({step}) differs:\n  zookeeper: {answers[0]}\n"
                      f"  chorus:    {answers[1]}")
                return 1
            if (i + 1) % 500 == 0:
                print(f"  {i + 1} operations agree ({time.time() - started:.0f} s)", flush=True)
        for s in systems:
            for k in range(sessions):
                s.call(k, OP_SYNC, jbuf("/d"))
                s.drain_events(k)
        for s in systems:
            s.events = [in_comparable_order(e) for e in s.events]
        for k in range(sessions):
            if systems[0].events[k] != systems[1].events[k]:
                print(f"FAIL: session {k}'s watch events differ:\n"
                      f"  zookeeper: {systems[0].events[k]}\n  chorus:    {systems[1].events[k]}")
                return 1
        events = sum(len(e) for e in systems[0].events)
        mix = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
        print(f"all {a.ops} operations agree, and {events} watch events (seed {a.seed}, "
              f"{a.sessions} sessions; {mix})")
        return 0
    finally:
        ens.stop_all()
        zk.stop()


if __name__ == "__main__":
    sys.exit(main())
