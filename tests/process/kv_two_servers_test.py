#!/usr/bin/env python3
"""What two servers survive, on real processes (docs/operations.md, "Two
servers"): a two-server kv ensemble under continuous writes, where either
server is SIGKILLed and restarted 50 times (a seeded choice each time).
While one is down no write is acknowledged (a quorum of two is both); once
it is back, writes go on; at the end no acknowledged write is missing on
either server and their digests agree. Then the way out, without downtime:
a third server joins (--join, `chorusctl add-server`, an observer first,
promoted once caught up) and one of the first two is SIGKILLed: writes go
on with two of three.

Usage: kv_two_servers_test.py KV_BINARY CHORUSCTL_BINARY [ROUNDS] [SEED]"""
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvlib  # noqa: E402


check = kvlib.check


def main():
    kv, ctl = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    rng = random.Random(seed)
    workdir = tempfile.mkdtemp(prefix="chorus-two-servers-test-")
    ens = kvlib.Ensemble(kv, workdir, n=2, admin=True)
    third = None
    writer = None
    ok = False
    started = time.time()
    try:
        ens.start_all()
        check(ens.wait_for_leader(20) is not None, "no leader of two within 20 s")
        writer = kvlib.Writer([ens.client_ports[1], ens.client_ports[2]])
        writer.start()
        kvlib.wait_until("the first writes", lambda: len(writer.acked) >= 20)
        stalls, recoveries = [], []
        for r in range(1, rounds + 1):
            victim = rng.choice((1, 2))
            ens.kill(victim)
            killed_at = time.time()
            # An acknowledgement already on its way may still arrive: count
            # from a moment after the kill.
            time.sleep(0.3)
            during = len(writer.acked)
            time.sleep(0.4)
            check(len(writer.acked) == during,
                  f"round {r}: {len(writer.acked) - during} writes acknowledged by one server "
                  f"of two (server {victim} down)")
            stalls.append(time.time() - killed_at)
            ens.start(victim, bootstrap=False)
            back = time.time()
            n = len(writer.acked)
            kvlib.wait_until(f"writes after server {victim} came back (round {r})",
                             lambda: len(writer.acked) >= n + 5, timeout=30)
            recoveries.append(time.time() - back)
            if r % 10 == 0 or r == rounds:
                print(f"round {r}/{rounds}: {len(writer.acked)} writes acknowledged; writes "
                      f"came back within {max(recoveries[-10:]) * 1000:.0f} ms of a restart "
                      f"(the worst of the last 10)", flush=True)

        # The way out: a third voter, joined while writes go on.
        ports = kvlib.free_ports(3)
        third = {"peer": ports[0], "client": ports[1], "admin": ports[2]}
        log = open(os.path.join(workdir, "server3.log"), "ab")
        third["proc"] = subprocess.Popen(
            [kv, "--id", "3", "--peers", f"3=127.0.0.1:{third['peer']}", "--join",
             f"127.0.0.1:{ens.admin_ports[1]}", "--data-dir", os.path.join(workdir, "server3"),
             "--client", f"127.0.0.1:{third['client']}", "--admin",
             f"127.0.0.1:{third['admin']}"], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        r = kvlib.chorusctl(ctl, ens.admin_ports[1], "add-server", "3",
                            f"127.0.0.1:{third['peer']}", "--wait-s", "60")
        check(r.returncode == 0, "add-server 3")
        writer.ports.append(third["client"])
        victim = rng.choice((1, 2))
        ens.kill(victim)
        n = len(writer.acked)
        kvlib.wait_until(f"writes with server {victim} of the first two down",
                         lambda: len(writer.acked) >= n + 20, timeout=30)
        print(f"with a third voter, server {victim} SIGKILLed: writes went on "
              f"({len(writer.acked) - n} more)")
        ens.start(victim, bootstrap=False)
        writer.stop.set()
        writer.join(timeout=10)

        ports_of = {1: ens.client_ports[1], 2: ens.client_ports[2], 3: third["client"]}
        kvlib.wait_until("every server serving",
                         lambda: all((kvlib.parse_status(kvlib.ask(p, "status")) or {})
                                     .get("serving") == "yes" for p in ports_of.values()),
                         timeout=30)
        kvlib.no_write_lost(ports_of, writer.acked)
        print(f"two servers, {rounds} SIGKILLs (seed {seed}): {len(writer.acked)} acknowledged "
              f"writes, none lost, none acknowledged while one server was down; writes back "
              f"within {max(recoveries) * 1000:.0f} ms of a restart (median "
              f"{sorted(recoveries)[len(recoveries) // 2] * 1000:.0f} ms); digests equal; "
              f"{time.time() - started:.0f} s")
        ok = True
        return 0
    finally:
        if writer:
            writer.stop.set()
        ens.stop_all()
        if third and third["proc"].poll() is None:
            third["proc"].kill()
            third["proc"].wait()
        kvlib.finish(workdir, (1, 2, 3), ok, lines=30)


if __name__ == "__main__":
    sys.exit(main())
