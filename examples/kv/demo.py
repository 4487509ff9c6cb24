#!/usr/bin/env python3
"""The main job: a local three-server ensemble of examples/kv, doing real
work, told in words. Usage: demo.py KV_BINARY"""
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "process"))
import kvlib  # noqa: E402


def say(text=""):
    print(text, flush=True)


def main():
    kv = sys.argv[1]
    workdir = tempfile.mkdtemp(prefix="chorus-demo-")
    ens = kvlib.Ensemble(kv, workdir)
    try:
        say("1. Starting three kv servers on 127.0.0.1, each with its own data directory:")
        for i in range(1, 4):
            say(f"     server {i}: peers talk to it on port {ens.peer_ports[i]}, clients on port {ens.client_ports[i]}")
        ens.start_all()
        leader = ens.wait_for_leader()
        if leader is None:
            say("   No leader was elected within 15 s — see the logs in " + workdir)
            return 1
        ens.wait_all_serving()
        st = ens.status(leader)
        say(f"   They held an election: server {leader} leads, epoch {st['epoch']}.")
        say()

        n = 1000
        say(f"2. Writing {n} keys, spread over all three servers. A follower forwards each")
        say("   write to the leader; it is acknowledged once a majority has it on disk.")
        conns = {i: kvlib.Conn(ens.client_ports[i]) for i in range(1, 4)}
        t = time.time()
        last = None
        for k in range(n):
            # A server still joining answers NotLeader (not applied): retry. A
            # put is idempotent, so a write whose outcome is unknown (a leader
            # change meanwhile) may be retried too.
            for _attempt in range(100):
                last = conns[1 + k % 3].ask(f"put key{k} value{k}")
                if not last.startswith(("error NotLeader", "error UnknownOutcome",
                                        "error Timeout")):
                    break
                time.sleep(0.02)
            if not last.startswith("ok"):
                say(f"   A write failed: {last}")
                return 1
        took = time.time() - t
        say(f"   Done in {took * 1000:.0f} ms ({n / took:.0f} writes/s, one at a time); the last got zxid {last[3:]}")
        say("   (a zxid is epoch:counter — the position of the write in the one order all servers share).")
        say()

        say("3. Reading key500 back from every server, after `sync` (so the read sees every earlier write):")
        for i in range(1, 4):
            conns[i].ask("sync")
            say(f"     server {i}: {conns[i].ask('get key500')}")
        for c in conns.values():
            c.close()
        say()

        say(f"4. Killing the leader, server {leader}, with SIGKILL (no warning, no clean shutdown)...")
        t = time.time()
        ens.kill(leader, signal.SIGKILL)
        survivor = next(i for i in range(1, 4) if i != leader)
        answer = None
        while time.time() - t < 15:
            answer = kvlib.ask(ens.client_ports[survivor], "put after-the-kill yes")
            if answer and answer.startswith("ok"):
                break
            time.sleep(0.005)
        gap = (time.time() - t) * 1000
        new = ens.wait_for_leader(exclude=leader)
        say(f"   Server {new} took over; the next write was acknowledged {gap:.0f} ms after the kill ({answer}).")
        missing = 0
        for i in range(1, 4):
            if i == leader:
                continue
            c = kvlib.Conn(ens.client_ports[i])
            c.ask("sync")
            missing += sum(1 for k in range(n) if c.ask(f"get key{k}") != f"value value{k}")
            c.close()
        say(f"   Checked all {n} keys on both survivors: {'none' if missing == 0 else missing} missing.")
        say()

        say(f"5. Restarting server {leader} from its data directory: it rejoins as a follower")
        say("   and catches up with what it missed.")
        ens.start(leader, bootstrap=False)
        ens.wait_all_serving()
        for i in range(1, 4):
            kvlib.ask(ens.client_ports[i], "sync")
        digests = {i: kvlib.ask(ens.client_ports[i], "digest") for i in range(1, 4)}
        for i in range(1, 4):
            st = ens.status(i)
            say(f"     server {i}: {st['role']:9} applied {digests[i]}")
        same = len(set(digests.values())) == 1
        say("   All three applied the same writes in the same order." if same else "   The servers DIFFER!")
        say()

        say("6. Stopping the ensemble (SIGTERM: each server finishes its disk writes and exits cleanly).")
        codes = [ens.kill(i, signal.SIGTERM) for i in range(1, 4)]
        say(f"   Exit codes: {codes}.")
        say()
        say("To run it yourself, start three servers like this (in three terminals):")
        say("   build/examples/kv --id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 \\")
        say("       --data-dir /tmp/kv1 --client 127.0.0.1:8001 --bootstrap")
        say("   (and --id 2 ... --client 127.0.0.1:8002, --id 3 ...), then: echo 'put a 1' | nc -q1 127.0.0.1 8001")
        say("   (nc is in Debian's netcat-openbsd package.)")
        return 0 if (missing == 0 and same and codes == [0, 0, 0]) else 1
    finally:
        ens.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
