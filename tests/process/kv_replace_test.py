#!/usr/bin/env python3
"""Replace every server of a three-server kv ensemble, one by one, under
continuous writes (docs/operations.md, "Changing the membership"): for each
old server, a new one with a new id and a new data directory starts with
--join and `chorusctl add-server` makes it a voter (an observer first,
promoted once caught up); then `chorusctl remove-server` takes the old one
out (the leader hands leadership over first) and its process is stopped
(SIGTERM). At the end only new servers run: no acknowledged write is
lost, their digests agree, and no gap between acknowledged writes was
longer than 1 s.

Usage: kv_replace_test.py KV_BINARY CHORUSCTL_BINARY"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvlib  # noqa: E402


check = kvlib.check


def main():
    kv, ctl = sys.argv[1], sys.argv[2]
    workdir = tempfile.mkdtemp(prefix="chorus-replace-test-")
    ports = kvlib.free_ports(18)
    servers = {i: kvlib.KvServer(kv, workdir, i, ports[i - 1], ports[5 + i], ports[11 + i])
               for i in range(1, 7)}
    ok = False
    writer = None
    started = time.time()
    try:
        peers = ",".join(f"{i}=127.0.0.1:{servers[i].peer}" for i in (1, 2, 3))
        for i in (1, 2, 3):
            servers[i].start("--peers", peers, "--bootstrap")
        kvlib.wait_until("three servers serving",
                         lambda: all((servers[i].status() or {}).get("serving") == "yes"
                                     for i in (1, 2, 3)))
        writer = kvlib.Writer([servers[i].client for i in (1, 2, 3)])
        writer.start()
        kvlib.wait_until("the first writes", lambda: len(writer.acked) >= 50)
        for old, new in ((1, 4), (2, 5), (3, 6)):
            s, member = servers[new], next(i for i in range(1, 7)
                                           if i != old and servers[i].proc
                                           and servers[i].proc.poll() is None)
            s.start("--peers", f"{new}=127.0.0.1:{s.peer}", "--join",
                    f"127.0.0.1:{servers[member].admin}")
            r = kvlib.chorusctl(ctl, servers[member].admin, "add-server", str(new),
                                f"127.0.0.1:{s.peer}", "--wait-s", "60")
            check(r.returncode == 0, f"add-server {new}")
            kvlib.wait_until(f"server {new} to serve",
                             lambda: (s.status() or {}).get("serving") == "yes")
            writer.ports.append(s.client)
            role = (servers[old].status() or {}).get("role")
            r = kvlib.chorusctl(ctl, servers[old].admin, "remove-server", str(old))
            check(r.returncode == 0 and "done" in r.stdout, f"remove-server {old} ({role})")
            writer.ports.remove(servers[old].client)
            servers[old].stop()
            n = len(writer.acked)
            kvlib.wait_until(f"writes after server {old} was replaced by {new}",
                             lambda: len(writer.acked) >= n + 50)
            print(f"server {old} ({role}) replaced by server {new}: {len(writer.acked)} writes "
                  f"acknowledged so far", flush=True)
        writer.stop.set()
        writer.join(timeout=10)

        r = kvlib.chorusctl(ctl, servers[4].admin, "members")
        check(r.returncode == 0 and all(f"127.0.0.1:{servers[i].peer}" not in r.stdout
                                        for i in (1, 2, 3)), "only the new servers are members")
        kvlib.no_write_lost({i: servers[i].client for i in (4, 5, 6)}, writer.acked)
        check(writer.longest_gap < 1.0,
              f"a gap of {writer.longest_gap * 1000:.0f} ms between acknowledged writes")
        print(f"replaced servers 1, 2, 3 by 4, 5, 6 under writes: {len(writer.acked)} "
              f"acknowledged writes, none lost; longest gap between acknowledgements "
              f"{writer.longest_gap * 1000:.0f} ms; digests equal; "
              f"{time.time() - started:.0f} s")
        ok = True
        return 0
    finally:
        if writer:
            writer.stop.set()
        for s in servers.values():
            s.stop(kvlib.signal.SIGKILL)
        kvlib.finish(workdir, servers, ok, lines=30)


if __name__ == "__main__":
    sys.exit(main())
