#!/usr/bin/env python3
"""Bad input never crashes a server: wrong configuration is refused with a
clear message; garbage on the peer port (an oversize frame, a frame that
does not parse, a caller that never says who it is) closes that connection
only; an unknown client command gets an error line.

Usage: kv_input_test.py KV_BINARY"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvlib  # noqa: E402


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def refused(kv, args, expect):
    r = subprocess.run([kv] + args, capture_output=True, text=True, timeout=20)
    check(r.returncode != 0, f"kv accepted {args}")
    check(expect in r.stderr, f"for {args} expected '{expect}' in: {r.stderr.strip()}")
    print(f"refused: {r.stderr.strip()}")


def main():
    kv = sys.argv[1]
    workdir = tempfile.mkdtemp(prefix="chorus-input-test-")
    ok = False
    ens = None
    try:
        d = os.path.join(workdir, "d")
        base = ["--data-dir", d, "--client", "127.0.0.1:1"]
        refused(kv, ["--id", "1", "--peers", "1=127.0.0.1:7001,1=127.0.0.1:7002"] + base, "appears twice")
        refused(kv, ["--id", "4", "--peers", "1=127.0.0.1:7001,2=127.0.0.1:7002"] + base, "is not among the peers")
        refused(kv, ["--id", "1", "--peers", "1=localhost:x"] + base, "is not an IP address")
        # A scope id would carry any bytes into memberships (the seventh review).
        refused(kv, ["--id", "1", "--peers", "1=::1%eth0:7001"] + base, "no scope ids")
        refused(kv, ["--id", "1", "--peers", "1=127.0.0.1:70000"] + base, "is not a port")
        refused(kv, ["--id", "1", "--peers", "1=127.0.0.1:7001", "--election-timeout-ticks", "3"] + base,
                "must exceed two heartbeat intervals")
        blocker = os.path.join(workdir, "file")
        open(blocker, "w").close()
        refused(kv, ["--id", "1", "--peers", "1=127.0.0.1:7001", "--data-dir", os.path.join(blocker, "sub"),
                     "--client", "127.0.0.1:1"], "is not writable")
        cfg = os.path.join(workdir, "bad.toml")
        with open(cfg, "w") as f:
            f.write("id = [unclosed\n")
        refused(kv, ["--config", cfg, "--client", "127.0.0.1:1"], "config file")
        # bootstrap is a flag for one start, never a setting left in a file.
        with open(cfg, "w") as f:
            f.write('id = 1\npeers = "1=127.0.0.1:7001"\nbootstrap = true\n')
        refused(kv, ["--config", cfg, "--data-dir", d, "--client", "127.0.0.1:1"],
                "bootstrap cannot be set in a config file")
        with open(cfg, "w") as f:
            f.write('id = 1\npeers = "1=127.0.0.1:7001"\nelection_timeout = 50\n')
        refused(kv, ["--config", cfg, "--data-dir", d, "--client", "127.0.0.1:1"],
                "unknown setting 'election_timeout'")

        ens = kvlib.Ensemble(kv, workdir)
        ens.start_all()
        leader = ens.wait_for_leader()
        check(leader is not None, "no leader")
        # Every server listening (a leader needs only two of three).
        check(ens.wait_all_serving(), "not every server serves")
        target = 3  # accepts connections from 1 and 2
        port = ens.peer_ports[target]
        garbage = [
            struct.pack(">I", 1 << 30),                       # a frame over the limit
            struct.pack(">I", 5) + b"\xff\xff\xff\xff\xff",   # a frame that does not parse
            b"GET / HTTP/1.1\r\n\r\n",                         # not our protocol at all
            struct.pack(">I", 2) + b"\x08\x01",               # a frame, but no Hello first
        ]
        for g in garbage:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(g)
            s.settimeout(2)
            try:
                closed = s.recv(1) == b""
            except socket.timeout:
                closed = False
            except ConnectionResetError:
                closed = True
            s.close()
            check(closed, f"the server kept a connection that sent {g[:12]!r}")
        check(ens.alive(target), "the server died on bad peer input")
        # (It may still be joining the ensemble: retry NotLeader for a while.)
        answer = None
        end = time.time() + 10
        while time.time() < end:
            answer = kvlib.ask(ens.client_ports[target], "put after-garbage 1", timeout=5)
            if answer and answer.startswith("ok"):
                break
            time.sleep(0.05)
        check(answer and answer.startswith("ok"), f"the ensemble stopped serving after bad peer input: {answer}")
        check(kvlib.ask(ens.client_ports[target], "frobnicate").startswith("error unknown command"),
              "an unknown client command got no clear error")
        check(kvlib.ask(ens.client_ports[target], "put onlykey").startswith("error usage"), "a bad put got no usage")
        with open(os.path.join(workdir, f"server{target}.log")) as f:
            log = f.read()
        check("over the limit" in log and "does not parse" in log, "bad frames were not logged")
        print("bad peer frames closed their connections with a log line; the server kept serving")
        ok = True
    finally:
        if ens:
            ens.stop_all()
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}")
    print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
