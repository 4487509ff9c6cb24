"""ZooKeeper's reconfig and getConfig on chorus, through a real client,
kazoo (python3-kazoo): a three-server chorus-server ensemble on 127.0.0.1
with a superuser digest.

    kazoo_reconfig_test.py CHORUS_SERVER

Covers: /zookeeper/config holding the membership in ZooKeeper's format on
every server; reconfig refused to a client that is not the superuser, for
two servers at once, for a stale from_config; a server removed and added
back by the superuser, the answer and /zookeeper/config agreeing, and a
data watch on /zookeeper/config firing; writes going on throughout. Each
check prints a line; the exit status is the number that failed."""
import base64
import hashlib
import sys
import tempfile
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import BadArgumentsError, BadVersionError, NoAuthError

from zklib import Ensemble, check, failures, until

SERVER = sys.argv[1]
PASSWORD = "reconfig-secret"
SUPER_DIGEST = "super:" + base64.b64encode(
    hashlib.sha1(f"super:{PASSWORD}".encode()).digest()).decode()
def client(ens, order=None, superuser=False):
    auth = [("digest", f"super:{PASSWORD}")] if superuser else None
    zk = KazooClient(hosts=ens.hosts(order), timeout=10.0, randomize_hosts=False, auth_data=auth)
    zk.start(timeout=15)
    return zk


def servers_of(config):
    """{id: role} of a /zookeeper/config text, and its version line."""
    lines = config.decode().splitlines()
    roles = {}
    for line in lines[:-1]:
        key, value = line.split("=", 1)
        roles[int(key.split(".")[1])] = value.rsplit(":", 1)[1]
    assert lines[-1].startswith("version="), config
    return roles, lines[-1]


def test_every_server_shows_the_membership(ens):
    for i in range(1, 4):
        zk = client(ens, [i])
        try:
            def shown():
                data, _ = zk.get("/zookeeper/config")
                return data != b"" and servers_of(data)[0] == {1: "participant", 2: "participant",
                                                               3: "participant"}
            until(shown, what=f"server {i}'s /zookeeper/config")
            data, _ = zk.get("/zookeeper/config")
            line = f"server.1=127.0.0.1:{ens.peer_ports[1]}:{ens.peer_ports[1]}:participant"
            assert data.decode().splitlines()[0] == line, data
        finally:
            zk.stop()
    print(f"     {data.decode()!r}")


def test_refusals(ens):
    zk = client(ens)
    try:
        try:
            zk.reconfig(joining=None, leaving="3", new_members=None)
            raise AssertionError("a client that is not the superuser reconfigured")
        except NoAuthError:
            pass
    finally:
        zk.stop()
    su = client(ens, superuser=True)
    try:
        for joining, leaving in ((None, "2,3"), ("server.4=127.0.0.1:1:1;2181", "3"),
                                 ("server.x=nowhere", None)):
            try:
                su.reconfig(joining=joining, leaving=leaving, new_members=None)
                raise AssertionError(f"reconfig({joining}, {leaving}) was made")
            except BadArgumentsError:
                pass
        try:
            su.reconfig(joining=None, leaving="3", new_members=None, from_config=12345)
            raise AssertionError("a stale from_config was taken")
        except BadVersionError:
            pass
        data, _ = su.get("/zookeeper/config")
        assert set(servers_of(data)[0]) == {1, 2, 3}, "a refused reconfig changed the membership"
    finally:
        su.stop()


class Writer(threading.Thread):
    """Writes a counter to /w until stopped; counts successes and errors."""

    def __init__(self, ens):
        super().__init__(daemon=True)
        self.zk = client(ens, [1, 2])
        self.zk.ensure_path("/w")
        self.stopping = threading.Event()
        self.done = 0
        self.errors = []

    def run(self):
        while not self.stopping.is_set():
            try:
                self.zk.set("/w", str(self.done).encode())
                self.done += 1
            except Exception as e:  # noqa: BLE001 - counted, and reported
                self.errors.append(repr(e))
                time.sleep(0.1)

    def finish(self):
        self.stopping.set()
        self.join(10)
        self.zk.stop()


def test_remove_and_add_back(ens):
    su = client(ens, [1, 2], superuser=True)
    writer = Writer(ens)
    writer.start()
    try:
        fired = threading.Event()
        su.get("/zookeeper/config", watch=lambda event: fired.set())
        _, version = servers_of(su.get("/zookeeper/config")[0])
        start = time.time()
        data, stat = su.reconfig(joining=None, leaving="3", new_members=None)
        took = time.time() - start
        roles, new_version = servers_of(data)
        assert roles == {1: "participant", 2: "participant"}, data
        assert new_version != version and stat.dataLength == len(data)
        until(lambda: su.get("/zookeeper/config")[0] == data, what="/zookeeper/config to follow")
        until(fired.is_set, what="the data watch on /zookeeper/config")
        print(f"     server 3 removed in {took:.2f} s; {new_version}")
        address = f"127.0.0.1:{ens.peer_ports[3]}"
        start = time.time()
        data, _ = su.reconfig(joining=f"server.3={address}:{ens.peer_ports[3]}:participant;2181",
                              leaving=None, new_members=None)
        took = time.time() - start
        roles, newer = servers_of(data)
        assert roles == {1: "participant", 2: "participant", 3: "participant"}, data
        until(lambda: su.get("/zookeeper/config")[0] == data, what="/zookeeper/config to follow")
        print(f"     server 3 added back (an observer first, then promoted) in {took:.2f} s; "
              f"{newer}")
        done_before = writer.done
        until(lambda: writer.done > done_before + 10, what="writes to go on")
    finally:
        writer.finish()
        su.stop()
    print(f"     {writer.done} writes meanwhile, {len(writer.errors)} errors "
          f"{writer.errors[:3]}")
    assert writer.done > 0


def main():
    with tempfile.TemporaryDirectory(prefix="chorus-kazoo-reconfig-") as workdir:
        ens = Ensemble(SERVER, workdir, 3, ["--zookeeper-super-digest", SUPER_DIGEST])
        try:
            ens.start_all()
            leader = ens.wait_serving()
            assert leader, "no leader within 30 s\n" + ens.tail_logs()
            print(f"     three servers serve; server {leader} leads", flush=True)
            check("/zookeeper/config shows the membership on every server",
                  test_every_server_shows_the_membership, ens)
            check("reconfig refused: not the superuser, two servers, a bad spec, a stale "
                  "from_config", test_refusals, ens)
            check("the superuser removes a server and adds it back under writes",
                  test_remove_and_add_back, ens)
        finally:
            ens.stop_all()
            if failures:
                print(ens.tail_logs())
    print(f"{len(failures)} failed" if failures else "all passed")
    return len(failures)


if __name__ == "__main__":
    sys.exit(main())
