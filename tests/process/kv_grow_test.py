#!/usr/bin/env python3
"""Grow a kv ensemble on real processes, under continuous writes: one
server bootstraps alone, four more start with --join (one member's admin
port) and `chorusctl add-server` makes each a voter (an observer first,
promoted once caught up): 1 -> 3 -> 5. Then it shrinks 5 -> 3: the leader
is removed (it hands leadership over first), then a follower. No
acknowledged write is lost, every server ends with the same digest, and
the refusals (--join with --bootstrap or with other --peers) are clear.

Usage: kv_grow_test.py KV_BINARY CHORUSCTL_BINARY"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvlib  # noqa: E402


check = kvlib.check


chorusctl = kvlib.chorusctl
wait_until = kvlib.wait_until


def main():
    kv, ctl = sys.argv[1], sys.argv[2]
    workdir = tempfile.mkdtemp(prefix="chorus-grow-test-")
    ports = kvlib.free_ports(15)
    servers = {i: kvlib.KvServer(kv, workdir, i, ports[i - 1], ports[4 + i], ports[9 + i])
               for i in (1, 2, 3, 4, 5)}
    ok = False
    writer = None
    try:
        s1, s2 = servers[1], servers[2]
        # Refusals first: clear words, no server left running.
        for args, expect in (
                (["--peers", f"2=127.0.0.1:{s2.peer}", "--join", f"127.0.0.1:{s1.admin}",
                  "--bootstrap"], "exclude each other"),
                (["--peers", f"2=127.0.0.1:{s2.peer},1=127.0.0.1:{s1.peer}", "--join",
                  f"127.0.0.1:{s1.admin}"], "names only this server")):
            r = subprocess.run([kv, "--id", "2", "--data-dir", os.path.join(workdir, "refused"),
                                "--client", "127.0.0.1:1"] + args,
                               capture_output=True, text=True, timeout=20)
            check(r.returncode != 0 and expect in r.stderr, f"{args}: {r.stderr}")
            print(f"refused: {r.stderr.strip()}")

        s1.start("--peers", f"1=127.0.0.1:{s1.peer}", "--bootstrap")
        wait_until("server 1 to serve alone", lambda: (s1.status() or {}).get("serving") == "yes")
        writer = kvlib.Writer([s1.client])
        writer.start()
        wait_until("the first writes", lambda: len(writer.acked) >= 50)

        for s in (servers[2], servers[3], servers[4], servers[5]):
            # It needs one member's admin port; its own --peers names only itself.
            s.start("--peers", f"{s.i}=127.0.0.1:{s.peer}", "--join", f"127.0.0.1:{s1.admin}")
            before = len(writer.acked)
            r = chorusctl(ctl, s1.admin, "add-server", str(s.i), f"127.0.0.1:{s.peer}",
                          "--wait-s", "60")
            check(r.returncode == 0, f"add-server {s.i} failed")
            wait_until(f"server {s.i} to serve", lambda: (s.status() or {}).get("serving") == "yes")
            writer.ports.append(s.client)
            wait_until("writes after the change", lambda: len(writer.acked) >= before + 50)

            if s.i == 3:
                r = chorusctl(ctl, s.admin, "members")
                check(r.returncode == 0 and "a quorum is 2" in r.stdout, "quorum of three")
        r = chorusctl(ctl, servers[5].admin, "members")
        check(r.returncode == 0 and r.stdout.count("voter") >= 5, "five voters")
        check("a quorum is 3" in r.stdout, "quorum of five")

        # Shrink 5 -> 3. The leader goes first, asked of itself: it hands
        # leadership over first, then forwards its own removal to the new
        # leader. Then a follower, asked of another server.
        gone = []
        for step in ("the leader", "a follower"):
            role = "leading" if step == "the leader" else "following"
            leaving = next(i for i, s in servers.items()
                           if i not in gone and (s.status() or {}).get("role") == role)
            asked = leaving if step == "the leader" else next(
                i for i in servers if i not in gone and i != leaving)
            r = chorusctl(ctl, servers[asked].admin, "remove-server", str(leaving))
            check(r.returncode == 0 and "done" in r.stdout, f"remove-server of {step}")
            gone.append(leaving)
            writer.ports.remove(servers[leaving].client)
            n = len(writer.acked)
            wait_until(f"writes after removing {step}", lambda: len(writer.acked) >= n + 50)
        r = chorusctl(ctl, servers[next(i for i in servers if i not in gone)].admin, "members")
        check(r.returncode == 0 and "a quorum is 2" in r.stdout, "back to three voters")
        writer.stop.set()
        writer.join(timeout=10)

        digests = kvlib.no_write_lost(
            {i: s.client for i, s in servers.items() if i not in gone}, writer.acked)
        print(f"grew 1 -> 3 -> 5 and shrank to 3 (servers {gone} removed) under writes: {len(writer.acked)} acknowledged "
              f"writes, none lost; longest gap between acknowledgements "
              f"{writer.longest_gap * 1000:.0f} ms; digests equal: {digests}")
        ok = True
        return 0
    finally:
        if writer:
            writer.stop.set()
        for s in servers.values():
            if s.proc and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        kvlib.finish(workdir, servers, ok, lines=30)


if __name__ == "__main__":
    sys.exit(main())
