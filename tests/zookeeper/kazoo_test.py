"""chorus's ZooKeeper front end against a real ZooKeeper client, kazoo
(python3-kazoo), and against hand-written jute where a real client would
never send it: a three-server chorus-server ensemble on 127.0.0.1.

    kazoo_test.py CHORUS_SERVER MEMBERSHIP_EXAMPLE GROUPD

Covers: every operation served, ZooKeeper's error codes, sequential and
ephemeral nodes and their Stat, watches (one-shot, ordered before the reply
of the write that fired them), sessions (close, expiry on every server, a
wrong password, moving between servers, lastZxidSeen), pings absorbed with
zero log bytes, bad input, chorus's own client seeing the same tree,
kazoo's Lock and counter and its Election staying correct across a leader
SIGKILL, and the
four-letter words and the per-address connection cap on a server of its own. Each check
prints a line; the exit status is the number that failed."""
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from kazoo.client import KazooClient
from kazoo.exceptions import (BadArgumentsError, BadVersionError, InvalidACLError, NoAuthError,
                              NoChildrenForEphemeralsError, NodeExistsError, NoNodeError,
                              NotEmptyError)
from kazoo.security import ACL, Id, Permissions, make_digest_acl, make_digest_acl_credential

from zklib import check, failures, free_ports, until
from zklib import (OP_ADD_WATCH, OP_CHECK_WATCHES, OP_CLOSE, OP_CREATE, OP_CREATE_CONTAINER, OP_CREATE_TTL, OP_DELETE, OP_EXISTS,
                   OP_GET_ALL_CHILDREN_NUMBER, OP_GET_CHILDREN, OP_REMOVE_WATCHES, OP_SYNC,
                   OP_GET_DATA, OP_GET_EPHEMERALS, OP_MULTI, OP_MULTI_READ, OP_PING, OP_SET_DATA,
                   OP_SET_WATCHES, OP_WHO_AM_I, ZBADARGUMENTS, ZOK, jlong,
                   ZUNIMPLEMENTED, Ensemble, Raw, create_body, frame, jbuf, jint, path_watch,
                   set_data_body)

SERVER, MEMBERSHIP, GROUPD = sys.argv[1], sys.argv[2], sys.argv[3]


def client(ens, order=None, timeout=10.0):
    zk = KazooClient(hosts=ens.hosts(order), timeout=timeout, randomize_hosts=False)
    zk.start(timeout=15)
    return zk


def test_pings_are_absorbed_and_never_logged(ens, leader):
    raw = Raw(ens.zk_ports[1 if leader != 1 else 2])
    assert raw.connect(timeout_ms=4000) is not None
    time.sleep(0.5)  # the open's transaction settles everywhere
    before = {i: ens.mntr(i) for i in range(1, 4)}
    for _ in range(200):
        raw.request(OP_PING, xid=-2)
        r = raw.reply()
        assert r is not None and r[0] == -2 and r[2] == ZOK, r
    time.sleep(0.3)  # the last heartbeat batch reaches the leader
    after = {i: ens.mntr(i) for i in range(1, 4)}
    for i in range(1, 4):
        assert before[i]["chorus_log_records_appended"] == after[i]["chorus_log_records_appended"], \
            f"server {i} appended log records for pings: {before[i]} -> {after[i]}"
        assert after[i]["chorus_log_bytes_heartbeat"] == "0"
    absorbed = int(after[leader]["chorus_heartbeats_absorbed"]) - \
        int(before[leader]["chorus_heartbeats_absorbed"])
    assert absorbed > 0, "the leader absorbed no heartbeats"
    raw.call(OP_CLOSE)
    raw.close()
    print(f"     200 pings: 0 log records on every server, {absorbed} heartbeats absorbed by "
          f"the leader")


def test_operations_and_errors(ens):
    zk = client(ens)
    try:
        assert zk.create("/ops", b"v0") == "/ops"
        data, stat = zk.get("/ops")
        assert data == b"v0" and stat.version == 0 and stat.dataLength == 2
        assert stat.czxid == stat.mzxid == stat.pzxid and stat.ctime == stat.mtime > 0
        assert abs(stat.ctime / 1000 - time.time()) < 60, "ctime is the leader's wall clock"
        stat = zk.set("/ops", b"v1", version=0)
        assert stat.version == 1 and stat.mzxid > stat.czxid
        try:
            zk.set("/ops", b"v2", version=0)
            raise AssertionError("a stale version was accepted")
        except BadVersionError:
            pass
        assert zk.exists("/ops/none") is None
        try:
            zk.get("/ops/none")
            raise AssertionError("no NoNodeError")
        except NoNodeError:
            pass
        try:
            zk.create("/missing/child")
            raise AssertionError("created under a missing parent")
        except NoNodeError:
            pass
        try:
            zk.create("/ops", b"")
            raise AssertionError("created twice")
        except NodeExistsError:
            pass
        seq = [zk.create("/ops/job-", sequence=True) for _ in range(3)]
        assert seq == ["/ops/job-0000000000", "/ops/job-0000000001", "/ops/job-0000000002"], seq
        eph = zk.create("/ops/eph", b"e", ephemeral=True)
        assert zk.exists(eph).ephemeralOwner == zk.client_id[0]
        es = zk.create("/ops/eseq-", ephemeral=True, sequence=True)
        assert es == "/ops/eseq-0000000004", es
        try:
            zk.create("/ops/eph/child")
            raise AssertionError("a child under an ephemeral")
        except NoChildrenForEphemeralsError:
            pass
        path, stat = zk.create("/ops/c2", b"xyz", include_data=True)  # create2
        assert path == "/ops/c2" and stat.dataLength == 3
        children, parent = zk.get_children("/ops", include_data=True)  # getChildren2
        assert sorted(children) == sorted(
            ["job-0000000000", "job-0000000001", "job-0000000002", "eph", "eseq-0000000004",
             "c2"]), children
        assert parent.numChildren == 6 and parent.cversion == 6
        try:
            zk.delete("/ops")
            raise AssertionError("deleted a node with children")
        except NotEmptyError:
            pass
        try:
            zk.delete("/ops/c2", version=5)
            raise AssertionError("deleted with a wrong version")
        except BadVersionError:
            pass
        zk.delete("/ops/c2", version=0)
        assert zk.exists("/ops/c2") is None
        after = zk.exists("/ops")
        assert after.cversion == 7 and after.pzxid > parent.pzxid
        zk.ensure_path("/ops/deep/er/path")
        assert zk.exists("/ops/deep/er/path") is not None
        zk.sync("/ops")
        acls, _ = zk.get_acls("/ops")
        assert len(acls) == 1 and acls[0].id.scheme == "world" and acls[0].perms == 31
        assert zk.exists("/").numChildren >= 1
    finally:
        zk.stop()
        zk.close()


def test_transactions(ens):
    from kazoo.exceptions import RolledBackError, RuntimeInconsistency
    zk = client(ens)
    try:
        zk.create("/tx", b"0")
        t = zk.transaction()
        t.create("/tx/a", b"a")
        t.set_data("/tx", b"1", version=0)
        t.check("/tx", 1)
        t.create("/tx/s-", b"", sequence=True)
        t.delete("/tx/a")
        results = t.commit()
        assert results[0] == "/tx/a" and results[1].version == 1 and results[2] is True and \
            results[3] == "/tx/s-0000000001" and results[4] is True, results
        # All or nothing, with ZooKeeper's result for every op.
        t = zk.transaction()
        t.create("/tx/b", b"")
        t.create("/tx", b"")  # exists
        t.set_data("/tx", b"2")
        results = t.commit()
        assert [type(r) for r in results] == [RolledBackError, NodeExistsError,
                                              RuntimeInconsistency], results
        assert zk.exists("/tx/b") is None, "a failed transaction left a node behind"
        assert zk.get("/tx")[0] == b"1"
    finally:
        zk.stop()
        zk.close()


def test_containers_system_nodes_and_the_rest(ens):
    zk = client(ens, [1])
    raw = Raw(ens.zk_ports[1])
    try:
        assert sorted(zk.get_children("/zookeeper")) == ["config", "quota"]
        raw.connect(timeout_ms=6000)
        # A container (createContainer, flag 4): deleted by the leader once
        # it has had a child and has none left.
        assert raw.call(OP_CREATE_CONTAINER, create_body("/box", b"", flags=4))[2] == ZOK
        stat = zk.exists("/box")
        assert stat.ephemeralOwner == 0, "ZooKeeper shows a container's owner as 0"
        zk.create("/box/item")
        zk.delete("/box/item")
        until(lambda: zk.exists("/box") is None, timeout=10, what="the emptied container to go")
        # TTL nodes are not served: ZooKeeper's own answer when they are off.
        assert raw.call(OP_CREATE_TTL, create_body("/ttl", b"", flags=5) + jlong(1000))[2] == \
            ZUNIMPLEMENTED
        # getEphemerals and getAllChildrenNumber.
        raw.call(OP_CREATE, create_body("/eph-a", b"", flags=1))
        raw.call(OP_CREATE, create_body("/eph-b", b"", flags=1))
        r = raw.call(OP_GET_EPHEMERALS, jbuf("/eph-"))
        assert r[2] == ZOK and r[3] == jint(2) + jbuf("/eph-a") + jbuf("/eph-b"), r
        zk.ensure_path("/count/a/b")
        zk.create("/count/c")
        r = raw.call(OP_GET_ALL_CHILDREN_NUMBER, jbuf("/count"))
        assert r[2] == ZOK and r[3] == jint(3), r
        # whoAmI: no credentials, so the address.
        r = raw.call(OP_WHO_AM_I)
        assert r[2] == ZOK and r[3] == jint(1) + jbuf("ip") + jbuf("127.0.0.1"), r
        # An empty multi succeeds; multiRead answers op by op.
        end = jint(-1) + b"\1" + jint(-1)
        r = raw.call(OP_MULTI, end)
        assert r[2] == ZOK and r[3] == end, r
        mh = lambda t: jint(t) + b"\0" + jint(-1)  # noqa: E731
        r = raw.call(OP_MULTI_READ, mh(OP_GET_DATA) + path_watch("/missing") + mh(8) +
                     path_watch("/count/a") + end)
        assert r[2] == ZOK and r[3] == (jint(-1) + b"\0" + jint(-101) + jint(-101) + jint(8) +
                                        b"\0" + jint(0) + jint(1) + jbuf("b") + end), r
        raw.call(OP_CLOSE)
    finally:
        raw.close()
        zk.stop()
        zk.close()


def test_invalid_paths_and_unknown_opcodes(ens):
    raw = Raw(ens.zk_ports[2])
    assert raw.connect() is not None
    for bad in ["relative", "/a//b", "/a/", "/a/./b", "/a/../b", "/a\x01b", "/\x7f"]:
        r = raw.call(OP_CREATE, create_body(bad))
        assert r is not None and r[2] == ZBADARGUMENTS, (bad, r)
    r = raw.call(OP_CREATE, create_body("/still-served"))
    assert r is not None and r[2] == ZOK, "the connection must carry on after refusals"
    # An unknown opcode: UNIMPLEMENTED, then ZooKeeper closes the connection.
    r = raw.call(9999)
    assert r is not None and r[2] == ZUNIMPLEMENTED, r
    assert raw.closed()
    raw.close()


def test_bad_input_closes_only_that_connection(ens):
    # Not a ConnectRequest.
    raw = Raw(ens.zk_ports[1])
    raw.send(frame(b"\x01\x02\x03"))
    assert raw.closed(), "a broken handshake must close the connection"
    # Over jute.maxbuffer.
    raw = Raw(ens.zk_ports[1])
    raw.send(struct.pack(">I", 0x7fffff00) + b"x" * 100)
    assert raw.closed()
    # A record that runs past its frame: a path length of 1000 in 10 bytes.
    raw = Raw(ens.zk_ports[1])
    assert raw.connect() is not None
    raw.send(frame(jint(1) + jint(OP_GET_DATA) + jint(1000) + b"abc"))
    assert raw.closed()
    # Everyone else is unaffected.
    assert ens.four(1, "ruok") == "imok"
    zk = client(ens, [1])
    try:
        zk.ensure_path("/after-bad-input")
    finally:
        zk.stop()
        zk.close()


def test_watches(ens):
    a = client(ens, [1])
    b = client(ens, [2])
    try:
        events = []
        lock = threading.Lock()

        def watcher(ev):
            with lock:
                events.append((ev.type, ev.path))

        a.create("/w", b"1")
        a.get("/w", watch=watcher)
        b.set("/w", b"2")
        a.exists("/w-new", watch=watcher)
        b.create("/w-new")
        a.get_children("/w", watch=watcher)
        b.create("/w/c")
        a.get("/w/c", watch=watcher)
        b.delete("/w/c")
        b.set("/w", b"3")  # no watch left on /w's data: one-shot
        until(lambda: len(events) >= 4, what="four events")
        time.sleep(0.3)
        with lock:
            got = sorted(events)
        assert got == sorted([("CHANGED", "/w"), ("CREATED", "/w-new"), ("CHILD", "/w"),
                              ("DELETED", "/w/c")]), got
    finally:
        a.stop()
        b.stop()
        a.close()
        b.close()


def test_watches_see_changes_that_leave_versions_as_they_were(ens):
    """A delete and a create in one multi leave version and cversion where
    they were; ZooKeeper still fires the watches, and so must chorus."""
    mh = lambda t: jint(t) + b"\0" + jint(-1)  # noqa: E731
    end = jint(-1) + b"\1" + jint(-1)
    watcher, writer = Raw(ens.zk_ports[1]), Raw(ens.zk_ports[1])
    watcher.connect()
    writer.connect()
    try:
        # exists on a missing node, then multi[create, delete]: CREATED.
        assert watcher.call(OP_EXISTS, path_watch("/flash", watch=True))[2] == -101
        assert writer.call(OP_MULTI, mh(OP_CREATE) + create_body("/flash") + mh(OP_DELETE) +
                           jbuf("/flash") + jint(-1) + end)[2] == ZOK
        r = watcher.reply()
        assert r[0] == -1 and struct.unpack(">i", r[3][:4])[0] == 1, r
        # getData at version 0, then multi[delete, create]: DELETED.
        writer.call(OP_CREATE, create_body("/again", b"v"))
        assert watcher.call(OP_GET_DATA, path_watch("/again", watch=True))[2] == ZOK
        assert writer.call(OP_MULTI, mh(OP_DELETE) + jbuf("/again") + jint(-1) + mh(OP_CREATE) +
                           create_body("/again", b"w") + end)[2] == ZOK
        r = watcher.reply()
        assert r[0] == -1 and struct.unpack(">i", r[3][:4])[0] == 2, r
        # A version below -1 is not "any": BADVERSION, nothing changed.
        assert writer.call(OP_SET_DATA, set_data_body("/again", b"x", -2))[2] == -103
        # The root exists; a read of a path no node can have is NONODE.
        assert writer.call(OP_CREATE, create_body("/"))[2] == -110
        assert writer.call(OP_EXISTS, path_watch("/again/"))[2] == -101
        # Watches end with their connection (no deadline of their own).
        for i in range(50):
            watcher.call(OP_EXISTS, path_watch(f"/never-{i}", watch=True))
        before = int(ens.mntr(1)["zk_watch_count"])
        watcher.call(OP_CLOSE)
        until(lambda: int(ens.mntr(1)["zk_watch_count"]) <= before - 50,
              what="a closed connection's watches to be cancelled")
        # Nothing after an unknown opcode runs: ZooKeeper closes there.
        writer.request(9999)
        writer.request(OP_CREATE, create_body("/after-unknown"))
        assert writer.reply()[2] == ZUNIMPLEMENTED and writer.closed()
        probe = client(ens, [2])
        probe.sync("/")
        assert probe.exists("/after-unknown") is None, "a request after an unknown opcode ran"
        probe.stop()
        probe.close()
    finally:
        watcher.close()
        writer.close()


def test_event_comes_before_the_reply_of_the_write_that_fired_it(ens):
    raw = Raw(ens.zk_ports[3])
    assert raw.connect() is not None
    assert raw.call(OP_CREATE, create_body("/order", b"a"))[2] == ZOK
    get = raw.request(OP_GET_DATA, path_watch("/order", watch=True))
    setx = raw.request(OP_SET_DATA, set_data_body("/order", b"b"))
    seen = [raw.reply() for _ in range(3)]
    assert all(s is not None for s in seen), seen
    assert [s[0] for s in seen] == [get, -1, setx], \
        f"expected getData's reply, the event, then setData's reply: xids {[s[0] for s in seen]}"
    raw.call(OP_CLOSE)
    raw.close()


def set_watches_body(relative_zxid, data=(), exist=(), child=()):
    def strings(items):
        return jint(len(items)) + b"".join(jbuf(x) for x in items)
    return struct.pack(">q", relative_zxid) + strings(data) + strings(exist) + strings(child)


def test_set_watches_after_a_reconnect(ens):
    zk = client(ens, [2])
    raw = Raw(ens.zk_ports[1])
    try:
        timeout, sid, password = raw.connect(timeout_ms=10000)
        zk.create("/sw-changed", b"0")
        zk.create("/sw-quiet", b"0")
        r = raw.call(OP_GET_DATA, path_watch("/sw-changed"))
        seen = r[1]  # the last zxid this client saw
        raw.close()
        # While the client is away, one node changes.
        zk.set("/sw-changed", b"1")
        back = Raw(ens.zk_ports[3])
        assert back.connect(session_id=sid, password=password, timeout_ms=10000)[1] == sid
        xid = back.request(OP_SET_WATCHES, set_watches_body(
            seen, data=["/sw-changed", "/sw-quiet"], exist=["/sw-born"], child=["/sw-quiet"]),
            xid=-8)
        frames = [back.reply() for _ in range(2)]
        got = sorted((f[0], f[3]) for f in frames)
        assert (xid, b"") in got, f"no reply to setWatches: {frames}"
        event = [f for f in frames if f[0] == -1]
        assert event and struct.unpack(">ii", event[0][3][:8]) == (3, 3) and \
            event[0][3].endswith(b"/sw-changed"), f"no NodeDataChanged for the missed change: {frames}"
        # The others were set again, and fire on the next change.
        zk.create("/sw-born")
        r = back.reply()
        assert r[0] == -1 and struct.unpack(">i", r[3][:4])[0] == 1 and r[3].endswith(b"/sw-born")
        zk.create("/sw-quiet/kid")
        r = back.reply()
        assert r[0] == -1 and struct.unpack(">i", r[3][:4])[0] == 4, "no NodeChildrenChanged"
        back.call(OP_CLOSE)
        back.close()
    finally:
        zk.stop()
        zk.close()


def events_until_reply(raw, xid):
    """(type, path) of each event before the reply to `xid`."""
    events = []
    while True:
        r = raw.reply()
        assert r is not None, "the connection closed"
        if r[0] == xid:
            return events, r
        if r[0] == -1:
            events.append((struct.unpack(">i", r[3][:4])[0], r[3][12:].decode()))


def test_persistent_watches(ens):
    """addWatch's persistent and recursive watches, with one-shot watches
    on the same paths (one event per change, as ZooKeeper sends a
    connection), removeWatches of one half, and setWatches2 after a
    reconnect to another server. (differential_test.py compares the rest
    with a real ZooKeeper.)"""
    created, deleted, changed, children = 1, 2, 3, 4
    writer = client(ens, [2])
    raw = Raw(ens.zk_ports[1])
    try:
        timeout, sid, password = raw.connect(timeout_ms=10000)
        writer.create("/pw/kid", b"0", makepath=True)
        assert raw.call(OP_ADD_WATCH, jbuf("/pw") + jint(0))[2:] == (ZOK, jint(0))
        assert raw.call(OP_ADD_WATCH, jbuf("/pw") + jint(1))[2] == ZOK
        assert raw.call(OP_ADD_WATCH, jbuf("/pw") + jint(7))[2] == -5, "a bad mode"
        # A one-shot data watch and a child watch on the same path.
        assert raw.call(OP_GET_DATA, path_watch("/pw", watch=True))[2] == ZOK
        assert raw.call(OP_GET_CHILDREN, path_watch("/pw", watch=True))[2] == ZOK

        def after(change):
            change()
            writer.sync("/pw")
            events, r = events_until_reply(raw, raw.request(OP_SYNC, jbuf("/pw")))
            assert r[2] == ZOK
            return events
        got = after(lambda: writer.set("/pw", b"1"))
        assert got == [(changed, "/pw")], got
        assert after(lambda: writer.set("/pw", b"2")) == [(changed, "/pw")], "not persistent"
        assert after(lambda: writer.set("/pw/kid", b"1")) == [(changed, "/pw/kid")]
        assert after(lambda: writer.create("/pw/new")) == [(created, "/pw/new"),
                                                             (children, "/pw")]
        assert after(lambda: writer.delete("/pw/new")) == [(deleted, "/pw/new"),
                                                             (children, "/pw")]
        # Both kinds are set on /pw: checkWatches finds each.
        assert raw.call(OP_CHECK_WATCHES, jbuf("/pw") + jint(1))[2] == ZOK
        assert raw.call(OP_CHECK_WATCHES, jbuf("/pw") + jint(2))[2] == ZOK
        assert raw.call(OP_CHECK_WATCHES, jbuf("/elsewhere") + jint(3))[2] == -121
        # Without the data half, only children's changes and deletions.
        assert raw.call(OP_REMOVE_WATCHES, jbuf("/pw") + jint(2))[2] == ZOK
        assert after(lambda: writer.set("/pw", b"3")) == []
        assert after(lambda: writer.set("/pw/kid", b"2")) == []
        assert after(lambda: writer.create("/pw/b")) == [(children, "/pw")]
        # Away, and back on another server with setWatches2.
        raw.close()
        raw = Raw(ens.zk_ports[3])
        assert raw.connect(session_id=sid, password=password, timeout_ms=10000)[1] == sid
        body = (struct.pack(">q", 0) + jint(0) + jint(0) + jint(0) +
                jint(1) + jbuf("/pw") + jint(1) + jbuf("/pw/b"))
        assert raw.call(105, body)[2] == ZOK
        assert after(lambda: writer.set("/pw/b", b"x")) == [(changed, "/pw/b")]
        assert after(lambda: writer.create("/pw/b/c")) == [(created, "/pw/b/c")]
        assert after(lambda: writer.delete("/pw/b/c")) == [(deleted, "/pw/b/c")]
        assert after(lambda: writer.delete("/pw/kid")) == [(children, "/pw")]
        assert raw.call(OP_REMOVE_WATCHES, jbuf("/pw") + jint(3))[2] == ZOK
        assert raw.call(OP_REMOVE_WATCHES, jbuf("/pw") + jint(3))[2] == -121
        assert after(lambda: writer.create("/pw/d")) == []
        raw.call(OP_CLOSE)
    finally:
        raw.close()
        writer.stop()
        writer.close()


def test_acls_with_kazoo(ens):
    """kazoo's own ACL calls: a node only alice may touch, a reader by
    address, setACL with versions, the superuser; across servers."""
    alice = KazooClient(hosts=ens.hosts([1]), auth_data=[("digest", "alice:pw")])
    alice.start(timeout=15)
    anonymous = client(ens, [2])
    wrong = KazooClient(hosts=ens.hosts([3]), auth_data=[("digest", "alice:nope")])
    wrong.start(timeout=15)
    root = KazooClient(hosts=ens.hosts([3]), auth_data=[("digest", "super:super-secret")])
    root.start(timeout=15)
    try:
        mine = make_digest_acl("alice", "pw", all=True)
        alice.create("/acl-mine", b"secret", acl=[mine])
        assert alice.get("/acl-mine")[0] == b"secret"
        for other in (anonymous, wrong):
            other.sync("/acl-mine")
            try:
                other.get("/acl-mine")
                raise AssertionError("read a node it has no READ on")
            except NoAuthError:
                pass
            try:
                other.set("/acl-mine", b"x")
                raise AssertionError("wrote a node it has no WRITE on")
            except NoAuthError:
                pass
            assert other.exists("/acl-mine") is not None, "exists needs no permission"
        acls, stat = alice.get_acls("/acl-mine")
        assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == \
            [(31, "digest", mine.id.id)], acls
        # A reader by address; the ACL's version must match.
        reader = ACL(Permissions.READ, Id("ip", "127.0.0.1"))
        try:
            alice.set_acls("/acl-mine", [mine, reader], version=5)
            raise AssertionError("setACL with a wrong aversion")
        except BadVersionError:
            pass
        assert alice.set_acls("/acl-mine", [mine, reader], version=0).aversion == 1
        anonymous.sync("/acl-mine")
        assert anonymous.get("/acl-mine")[0] == b"secret", "ip:127.0.0.1 may read"
        # The superuser passes every check.
        root.sync("/acl-mine")
        root.set("/acl-mine", b"by root")
        root.delete("/acl-mine")
        try:
            anonymous.create("/acl-bad", acl=[ACL(31, Id("world", "nobody"))])
            raise AssertionError("an invalid ACL was taken")
        except InvalidACLError:
            pass
    finally:
        for zk in (alice, anonymous, wrong, root):
            zk.stop()
            zk.close()


def test_sessions(ens):
    # A wrong password: ZooKeeper's expired answer, and the connection ends.
    raw = Raw(ens.zk_ports[1])
    timeout, sid, password = raw.connect(timeout_ms=3000)
    assert timeout == 3000 and sid != 0 and len(password) == 16
    assert raw.call(OP_CREATE, create_body("/sess-eph", b"", flags=1))[2] == ZOK
    raw.close()
    bad = Raw(ens.zk_ports[2])
    answer = bad.connect(session_id=sid, password=b"x" * 16)
    assert answer is not None and answer[0] == 0 and answer[1] == 0, answer
    assert bad.closed()
    # The right password, on another server: the same session, its node kept.
    moved = Raw(ens.zk_ports[2])
    answer = moved.connect(session_id=sid, password=password, timeout_ms=3000)
    assert answer is not None and answer[1] == sid and answer[0] == 3000, answer
    r = moved.call(OP_GET_DATA, path_watch("/sess-eph"))
    assert r[2] == ZOK, "the session's ephemeral must survive the move"
    # A client that has seen the future is refused (it would see time go back).
    ahead = Raw(ens.zk_ports[3])
    assert ahead.connect(last_zxid=(1 << 62)) is None, "a client ahead of the server was accepted"
    # Expiry: the client goes silent; its ephemeral goes on every server.
    moved.close()
    zks = [client(ens, [i]) for i in (1, 2, 3)]
    try:
        start = time.time()
        for zk in zks:
            until(lambda zk=zk: (zk.sync("/"), zk.exists("/sess-eph"))[1] is None, timeout=20,
                  what="the ephemeral of the silent session to expire")
        took = time.time() - start
        assert took > 1.0, "expired too soon for a 3 s session"
        again = Raw(ens.zk_ports[1])
        answer = again.connect(session_id=sid, password=password)
        assert answer is not None and answer[0] == 0, "an expired session was revalidated"
        # closeSession: the ephemeral goes at once.
        zks[0].create("/closing", b"", ephemeral=True)
        zks[0].stop()
        zks[1].sync("/")
        assert zks[1].exists("/closing") is None, "closeSession left the ephemeral behind"
        print(f"     the silent session's ephemeral was gone everywhere {took:.1f} s after")
    finally:
        for zk in zks:
            zk.stop()
            zk.close()


def test_the_same_tree_as_chorus_clients(ens, workdir):
    log = open(os.path.join(workdir, "membership.log"), "wb")
    member = subprocess.Popen([MEMBERSHIP, "--servers", ens.client_servers(), "--group", "web",
                               "--name", "host-1", "--metadata", "from-chorus"],
                              stdout=log, stderr=subprocess.STDOUT)
    zk = client(ens)
    try:
        until(lambda: zk.exists("/groups/web/members/host-1") is not None,
              what="chorus::Client's member seen through ZooKeeper")
        data, stat = zk.get("/groups/web/members/host-1")
        assert data == b"from-chorus" and stat.ephemeralOwner != 0
        zk.create("/groups/web/members/zk-1", b"from-zookeeper", ephemeral=True)

        def member_saw_it():
            with open(os.path.join(workdir, "membership.log")) as f:
                return "zk-1=from-zookeeper" in f.read()

        until(member_saw_it, what="the ZooKeeper client's member seen by chorus::Client")
        member.send_signal(signal.SIGTERM)
        member.wait(timeout=20)
        zk.sync("/")
        assert zk.exists("/groups/web/members/host-1") is None
    finally:
        if member.poll() is None:
            member.kill()
            member.wait()
        zk.stop()
        zk.close()
        log.close()


def test_lock_and_counter_across_a_leader_kill(ens):
    leader = ens.wait_serving()
    others = [i for i in (1, 2, 3) if i != leader]
    # a starts on the leader, so the kill moves it.
    a = client(ens, [leader] + others, timeout=10)
    b = client(ens, others + [leader], timeout=10)
    a_session = a.client_id[0]
    a.create("/held-by-a", b"", ephemeral=True)
    # kazoo ends its watches at a connection loss (each gets a NONE event);
    # its DataWatch recipe sets them again on the new connection.
    seen = []
    a.create("/watched", b"0")
    a.DataWatch("/watched", lambda data, stat: seen.append(data))
    stop = threading.Event()
    done = {"a": 0, "b": 0}

    def worker(zk, name):
        lock = zk.Lock("/counter-lock", name)
        while not stop.is_set():
            try:
                with lock:
                    value, stat = zk.get("/counter")
                    zk.set("/counter", str(int(value) + 1).encode(), version=stat.version)
                done[name] += 1
            except Exception:  # noqa: BLE001 - connection loss during the kill: retry
                time.sleep(0.1)

    a.create("/counter", b"0")
    threads = [threading.Thread(target=worker, args=(a, "a")),
               threading.Thread(target=worker, args=(b, "b"))]
    for t in threads:
        t.start()
    time.sleep(1.5)
    ens.kill(leader)
    new_leader = ens.wait_serving(timeout=30)
    assert new_leader is not None and new_leader != leader, "no new leader"
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    try:
        assert a.client_id[0] == a_session, "a lost its session in the failover"
        assert b.exists("/held-by-a") is not None, "a's ephemeral vanished in the failover"
        b.set("/watched", b"1")
        until(lambda: seen and seen[-1] == b"1",
              what="a's DataWatch, set before the kill, to see a change made after it")
        total = done["a"] + done["b"]
        value = int(b.get("/counter")[0])
        # An increment whose answer was lost may have applied: never fewer.
        assert value >= total and value - total <= 2, (value, done)
        print(f"     {total} locked increments by two clients across the kill of leader "
              f"{leader}; counter {value}; a kept session {a_session:#x}")
    finally:
        a.stop()
        b.stop()
        a.close()
        b.close()
        ens.start(leader)


def test_election_across_a_leader_kill(ens):
    """kazoo's Election: one leader at a time, kept across the kill of the
    chorus leader (its session lives on), and handed over once it leaves."""
    leader = ens.wait_serving()
    others = [i for i in (1, 2, 3) if i != leader]
    a = client(ens, [leader] + others, timeout=10)  # moved by the kill
    b = client(ens, others + [leader], timeout=10)
    leading = []  # who led, in order
    now = set()   # who leads now
    guard = threading.Lock()
    overlap = []
    stops = {"a": threading.Event(), "b": threading.Event()}

    def lead(name):
        with guard:
            if now:
                overlap.append((name, set(now)))
            now.add(name)
            leading.append(name)
        stops[name].wait(60)
        with guard:
            now.discard(name)

    def run(zk, name):
        try:
            zk.Election("/election", name).run(lead, name)
        except Exception:  # noqa: BLE001 - its client was closed under it
            pass

    ta = threading.Thread(target=run, args=(a, "a"), daemon=True)
    ta.start()
    until(lambda: leading == ["a"], what="a to lead")
    tb = threading.Thread(target=run, args=(b, "b"), daemon=True)
    tb.start()
    try:
        until(lambda: len(b.get_children("/election")) == 2, what="b to stand")
        ens.kill(leader)
        assert ens.wait_serving(timeout=30) not in (None, leader), "no new chorus leader"
        # a's session lives through the failover, and with it its lead.
        until(lambda: a.connected and b.connected, timeout=30, what="both to reconnect")
        time.sleep(1.0)
        with guard:
            assert leading == ["a"] and now == {"a"}, (leading, now)
        # a leaves (its session closes): b leads, and never with a.
        stops["a"].set()
        a.stop()
        a.close()
        until(lambda: leading == ["a", "b"], timeout=20, what="b to lead once a left")
        assert not overlap, overlap
        print(f"     a led across the kill of chorus leader {leader}; b led once a left")
    finally:
        for e in stops.values():
            e.set()
        b.stop()
        b.close()
        ens.start(leader)
        ens.wait_serving(timeout=30)


def test_groupd_serves_zookeeper_too(workdir):
    """groupd --zookeeper: a member that joined over HTTP is an ephemeral
    znode to a ZooKeeper client, and it leaves when its HTTP member does."""
    dirname = os.path.join(workdir, "groupd")
    os.makedirs(dirname, exist_ok=True)
    peer, http, zk_port = free_ports(3)
    log = open(os.path.join(dirname, "groupd.log"), "ab")
    proc = subprocess.Popen([GROUPD, "--id", "1", "--peers", f"1=127.0.0.1:{peer}",
                             "--data-dir", os.path.join(dirname, "data"),
                             "--http", f"127.0.0.1:{http}", "--zookeeper", f"127.0.0.1:{zk_port}",
                             "--bootstrap"], stdout=log, stderr=subprocess.STDOUT)
    zk = None
    try:
        url = f"http://127.0.0.1:{http}/web/alice?timeout=30"

        def joined():
            try:
                request = urllib.request.Request(url, data=b'{"host": "10.0.0.5"}', method="PUT")
                with urllib.request.urlopen(request, timeout=2) as reply:
                    return reply.status in (200, 201)
            except OSError:
                return False

        until(joined, timeout=30, what="groupd to take a member over HTTP")
        zk = KazooClient(hosts=f"127.0.0.1:{zk_port}", timeout=10)
        zk.start(timeout=15)
        data, stat = zk.get("/groups/web/members/alice")
        assert b"10.0.0.5" in data and stat.ephemeralOwner != 0, (data, stat)
        gone = threading.Event()
        zk.exists("/groups/web/members/alice", watch=lambda event: gone.set())
        member = f"http://127.0.0.1:{http}/web/alice"
        with urllib.request.urlopen(urllib.request.Request(member, method="DELETE"), timeout=5):
            pass
        assert gone.wait(10), "the ZooKeeper watch did not see the member leave"
        assert zk.exists("/groups/web/members/alice") is None
    finally:
        if zk is not None:
            zk.stop()
            zk.close()
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_four_letter_words_and_the_per_address_cap(workdir):
    """A one-server ensemble of its own, every word allowed and at most four
    connections from one address: the words tell real figures in
    ZooKeeper's layout, and a fifth connection is closed at once."""
    one = Ensemble(SERVER, os.path.join(workdir, "four-letter"), n=1, extra_args=[
        "--4lw-whitelist", "*", "--zookeeper-max-client-cnxns", "4"])
    os.makedirs(one.workdir, exist_ok=True)
    one.start_all()
    raws = []
    zk = None
    try:
        assert one.wait_serving() == 1, "the one-server ensemble did not serve\n" + one.tail_logs()
        zk = client(one)
        sid = f"{zk.client_id[0]:#x}"
        zk.create("/fl", b"x")
        zk.get("/fl", watch=lambda e: None)
        zk.exists("/fl-none", watch=lambda e: None)
        zk.get_children("/fl", watch=lambda e: None)  # a child watch: not in wchs
        for _ in range(20):
            zk.get("/fl")

        cons = one.four(1, "cons")
        mine = [line for line in cons.splitlines() if f"sid={sid}," in line]
        assert len(mine) == 1, cons
        assert "[1](queued=0,recved=" in mine[0] and ",lop=GETD," in mine[0] and \
            ",to=10000," in mine[0], mine[0]
        assert "[0](queued=0,recved=1,sent=0)" in cons, "the asking connection: " + cons
        assert cons.endswith(")\n\n"), repr(cons)
        wchc = one.four(1, "wchc")
        assert f"{sid}\n\t/fl\n\t/fl-none\n" in wchc, repr(wchc)
        assert one.four(1, "wchs") == "1 connections watching 2 paths\nTotal watches:2\n"
        wchp = one.four(1, "wchp")
        assert f"/fl\n\t{sid}\n" in wchp and f"/fl-none\n\t{sid}\n" in wchp, repr(wchp)

        stat = one.four(1, "stat")
        assert stat.startswith("Zookeeper version: chorus") and "\nClients:\n /127.0.0.1:" in stat
        assert "\nMode: leader\n" in stat, stat
        srvr = one.four(1, "srvr")
        received = int(srvr.split("Received: ")[1].split("\n")[0])
        assert received >= 24, srvr  # the handshake, 24 requests, the words
        assert "Latency min/avg/max: " in srvr, srvr

        conf = dict(line.split("=", 1) for line in one.four(1, "conf").splitlines())
        assert conf["clientPort"] == str(one.zk_ports[1]), conf
        assert conf["serverId"] == "1" and conf["maxClientCnxns"] == "4", conf
        assert conf["dataDir"] == os.path.join(one.workdir, "data1"), conf
        assert int(conf["dataDirSize"]) > 0, conf
        assert conf["server.1"] == f"127.0.0.1:{one.peer_ports[1]}", conf
        dirs = one.four(1, "dirs")
        assert dirs.startswith("datadir_size: ") and "\nlogdir_size: " in dirs, dirs
        envi = one.four(1, "envi")
        assert envi.startswith("Environment:\n"), envi
        assert f"\nchorus.pid={one.procs[1].pid}\n" in envi, envi

        assert one.four(1, "crst") == "Connection stats reset.\n"
        mine = [line for line in one.four(1, "cons").splitlines() if f"sid={sid}," in line]
        assert "(queued=0,recved=0,sent=0," in mine[0] and ",lop=NA," in mine[0], mine
        assert one.four(1, "srst") == "Server stats reset.\n"
        after = one.four(1, "srvr")
        assert int(after.split("Received: ")[1].split("\n")[0]) < received, after
        assert one.four(1, "dump").startswith("dump is not served by chorus")

        # The cap: kazoo's connection and three more are let in; a fifth is
        # closed as soon as it is accepted, and once one leaves, another is
        # let in.
        for _ in range(3):
            raw = Raw(one.zk_ports[1])
            assert raw.connect() is not None, "a connection within the cap was refused"
            raws.append(raw)
        refused = Raw(one.zk_ports[1])
        began = time.time()
        assert refused.connect() is None, "a fifth connection from one address was let in"
        assert time.time() - began < 3, "the fifth connection was not closed at once"
        raws.pop().sock.close()
        until(lambda: Raw(one.zk_ports[1]).connect() is not None,
              what="a connection to be let in again once another left")
        with open(one.log(1), errors="replace") as log:
            assert "too many connections from 127.0.0.1 - max is 4" in log.read()
    finally:
        for raw in raws:
            raw.sock.close()
        if zk is not None:
            zk.stop()
            zk.close()
        one.stop_all()


def main():
    workdir = tempfile.mkdtemp(prefix="chorus-zk-test-")
    ens = Ensemble(SERVER, workdir, extra_args=[
        "--zookeeper-super-digest", make_digest_acl_credential("super", "super-secret")])
    ens.start_all()
    try:
        leader = ens.wait_serving()
        if leader is None:
            print("FAIL the ensemble did not start serving\n" + ens.tail_logs())
            return 1
        check("pings are absorbed and never logged", test_pings_are_absorbed_and_never_logged,
              ens, leader)
        check("operations and ZooKeeper's error codes", test_operations_and_errors, ens)
        check("transactions (multi)", test_transactions, ens)
        check("containers, /zookeeper, getEphemerals, getAllChildrenNumber, whoAmI, multiRead",
              test_containers_system_nodes_and_the_rest, ens)
        check("invalid paths and unknown opcodes", test_invalid_paths_and_unknown_opcodes, ens)
        check("bad input closes only that connection", test_bad_input_closes_only_that_connection,
              ens)
        check("watches", test_watches, ens)
        check("watches see a delete and a create in one multi; -2 is no version; "
              "watches end with their connection; nothing runs after an unknown opcode",
              test_watches_see_changes_that_leave_versions_as_they_were, ens)
        check("an event comes before the reply of the write that fired it",
              test_event_comes_before_the_reply_of_the_write_that_fired_it, ens)
        check("persistent watches (addWatch), checkWatches, removeWatches, setWatches2",
              test_persistent_watches, ens)
        check("ACLs and digest authentication with kazoo", test_acls_with_kazoo, ens)
        check("sessions", test_sessions, ens)
        check("setWatches after a reconnect", test_set_watches_after_a_reconnect, ens)
        check("the same tree as chorus's own clients", test_the_same_tree_as_chorus_clients, ens,
              workdir)
        check("kazoo's Lock and a counter across a leader SIGKILL",
              test_lock_and_counter_across_a_leader_kill, ens)
        check("kazoo's Election across a leader SIGKILL", test_election_across_a_leader_kill,
              ens)
        check("groupd --zookeeper: a member over HTTP is a znode", test_groupd_serves_zookeeper_too,
              workdir)
        check("four-letter words (stat, cons, wchs, wchc, wchp, conf, envi, dirs, crst, srst) "
              "and the per-address cap", test_four_letter_words_and_the_per_address_cap, workdir)
    finally:
        ens.stop_all()
    if failures:
        print(ens.tail_logs())
    print(f"{len(failures)} failed" if failures else "all passed")
    return len(failures)


if __name__ == "__main__":
    sys.exit(main())
