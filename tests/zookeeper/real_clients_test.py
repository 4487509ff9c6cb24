"""ZooKeeper's own command-line clients against chorus and against a real
ZooKeeper 3.8, their output compared line by line: zkCli.sh (the Java
client, Debian's zookeeper package) fed a script on its standard input, and
cli_mt (the C client's shell, Debian's zookeeper-bin) run once per command
in its batch mode. A three-server chorus ensemble on 127.0.0.1 and a
standalone ZooKeeper, both fresh.

    real_clients_test.py CHORUS_SERVER

What may differ, and is normalised: zxids (each system numbers its own; a
zxid becomes the order in which it first appears, so equal stays equal),
times, session ids, the elapsed "time = N msec" of cli_mt, the server list
zkCli prints as it connects, and the order of whoami's lines (ZooKeeper
lists a connection's identities from a hash set). Exits 77 (skipped) where
ZooKeeper or its clients are not installed (./chorus.sh install-zookeeper).
"""
import os
import re
import subprocess
import sys
import tempfile
import time

from zklib import Ensemble, RealZooKeeper, zookeeper_installed

SKIP = 77
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"

# What a user would type into zkCli: every kind of node, reads with Stats,
# versions, ACLs and digest auth, whoami, sync, and the errors a refused
# write prints. (deleteall is given a tree it may delete: its failure line
# is printed by a callback that races zkCli's own exit, in ZooKeeper too.)
ZKCLI_SCRIPT = """create /app "hello"
create -s /app/job- ""
create -e /app/session-node "mine"
ls /
ls -s /app
get -s /app
set /app "again"
set -v 0 /app "stale"
stat /app
create -c /box ""
create /box/in ""
ls /box
create /app "twice"
getAcl /app
addauth digest alice:secret
create /private "p" auth:alice:secret:cdrwa
getAcl /private
whoami
setAcl /app world:anyone:r
getAcl /app
set /app "refused"
delete /app/nothing
getAllChildrenNumber /app
getEphemerals
sync /app
get /missing
create /tree ""
create /tree/a ""
create /tree/a/b "leaf"
deleteall /tree
ls /
quit
"""

# cli_mt's batch mode runs one command per process (its exists and myid
# never return in batch mode, against ZooKeeper too, so they are left out).
CLI_MT_COMMANDS = [
    "create /c1", "create +s /c1/s-", "create +e /c1/eph", "get /c1", "set /c1 again",
    "get /c1", "ls /c1", "ls2 /c1", "sync /c1", "delete /c1", "delete /c1/s-0000000000",
    "delete /c1", "get /c1", "delete /nope", "set /nope x", "ls /",
]


class Normaliser:
    """Rewrites what each system may legitimately print differently."""

    def __init__(self):
        self.zxids = {}

    def zxid(self, value):
        return self.zxids.setdefault(int(value, 16), f"z{len(self.zxids) + 1}")

    def line(self, text):
        text = re.sub(r"(cZxid|mZxid|pZxid) = 0x([0-9a-f]+)",
                      lambda m: f"{m.group(1)} = {self.zxid(m.group(2))}", text)
        text = re.sub(r"(czxid|mzxid)=([0-9a-f]+)",
                      lambda m: f"{m.group(1)}={self.zxid(m.group(2))}", text)
        text = re.sub(r"(ctime|mtime) ?= ?.*", r"\1 = <time>", text)
        text = re.sub(r"ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*", "ephemeralOwner = <session>",
                      text)
        text = re.sub(r"ephemeralOwner = [1-9][0-9]*", "ephemeralOwner = <session>", text)
        return text


def zkcli_output(hosts):
    p = subprocess.run([ZKCLI, "-server", hosts], input=ZKCLI_SCRIPT.encode(),
                       capture_output=True, timeout=120)
    norm = Normaliser()
    lines = []
    for line in (p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")).splitlines():
        if line.startswith(("SLF4J:", "Connecting to ")):
            continue
        lines.append(norm.line(line))
    # whoami's identities in a fixed order.
    out = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("Auth scheme: User"):
            j = i + 1
            while j < len(lines) and re.match(r"^(ip|digest|world|super): ", lines[j]):
                j += 1
            out.append(lines[i])
            out.extend(sorted(lines[i + 1:j]))
            i = j
        else:
            out.append(lines[i])
            i += 1
    return p.returncode, out


def cli_mt_output(hosts):
    norm = Normaliser()
    out = []
    for command in CLI_MT_COMMANDS:
        try:
            p = subprocess.run([CLI_MT, hosts, "cmd:" + command], capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            out.append(f"{command}: did not return")
            continue
        out.append(f">>> {command} (exit {p.returncode})")
        for line in (p.stdout.decode(errors="replace") +
                     p.stderr.decode(errors="replace")).splitlines():
            if line.startswith("Got a new session id") or re.match(r"^time = \d+ msec$", line):
                continue
            out.append(norm.line(line))
    return out


def compare(what, theirs, ours):
    if theirs == ours:
        print(f"ok   {what}: {len(ours)} lines the same")
        return True
    print(f"FAIL {what}: chorus's output differs from ZooKeeper's")
    for k in range(max(len(theirs), len(ours))):
        a = theirs[k] if k < len(theirs) else "<none>"
        b = ours[k] if k < len(ours) else "<none>"
        mark = "  " if a == b else "!!"
        print(f"  {mark} zookeeper: {a!r}\n  {mark} chorus:    {b!r}")
    return False


def main():
    if not zookeeper_installed() or not os.path.exists(ZKCLI) or not os.path.exists(CLI_MT):
        print("skipped: ZooKeeper, zkCli.sh or cli_mt is not installed "
              "(./chorus.sh install-zookeeper: zookeeper, zookeeper-bin)")
        return SKIP
    chorus_server = sys.argv[1]
    workdir = tempfile.mkdtemp(prefix="chorus-real-clients-")
    zk = RealZooKeeper(workdir)
    ens = Ensemble(chorus_server, workdir)
    ens.start_all()
    failed = 0
    try:
        if not zk.wait_serving():
            print("FAIL ZooKeeper did not start")
            return 1
        if ens.wait_serving() is None:
            print("FAIL the chorus ensemble did not start serving\n" + ens.tail_logs())
            return 1
        zk_hosts = f"127.0.0.1:{zk.port}"
        start = time.time()
        rc_zk, zk_lines = zkcli_output(zk_hosts)
        rc_ch, ch_lines = zkcli_output(ens.hosts())
        print(f"     zkCli.sh ran {ZKCLI_SCRIPT.count(chr(10))} commands against each "
              f"({time.time() - start:.1f} s)")
        if not compare("zkCli.sh", [f"exit {rc_zk}"] + zk_lines, [f"exit {rc_ch}"] + ch_lines):
            failed += 1
        start = time.time()
        zk_out = cli_mt_output(zk_hosts)
        ch_out = cli_mt_output(ens.hosts())
        print(f"     cli_mt ran {len(CLI_MT_COMMANDS)} commands against each "
              f"({time.time() - start:.1f} s)")
        if not compare("cli_mt (ZooKeeper's C client)", zk_out, ch_out):
            failed += 1
    finally:
        ens.stop_all()
        zk.stop()
    print(f"{failed} failed" if failed else "all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
