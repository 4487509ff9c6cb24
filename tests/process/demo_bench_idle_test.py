#!/usr/bin/env python3
"""The main job's benchmark runs on an otherwise idle machine (issue 14: it
ran while the demo's three groupd servers were still up and heartbeating).

Runs examples/groupd/demo.py with, in place of chorus-bench, a probe that
looks for live groupd processes among its siblings (the demo's children)
and fails if there are any; the demo must stop its ensemble first, and
report the probe's verdict in its own exit status.

    demo_bench_idle_test.py GROUPD CHORUSCTL"""
import os
import subprocess
import sys

PROBE = r'''
import os, sys
groupd = os.path.realpath(sys.argv[1])
demo = os.getppid()
alive = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        if ppid != demo or int(pid) == os.getpid():
            continue
        if os.path.realpath(f"/proc/{pid}/exe") == groupd:
            alive.append(pid)
    except (OSError, ValueError, IndexError):
        pass
if alive:
    print(f"probe: the demo's groupd servers {alive} are still running during the benchmark")
    sys.exit(1)
print("probe: no groupd server of the demo is running: the machine is the benchmark's")
'''


def main():
    groupd, chorusctl = sys.argv[1:3]
    demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                        "groupd", "demo.py")
    out = subprocess.run([sys.executable, demo, groupd, chorusctl, sys.executable, "-c", PROBE,
                          groupd], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=240)
    print(out.stdout[-3000:])
    print(out.stderr[-2000:], file=sys.stderr)
    if "probe: no groupd server of the demo is running" not in out.stdout:
        print("FAIL: the probe did not see an idle machine (or did not run)")
        return 1
    if out.returncode != 0:
        print(f"FAIL: the demo exited with {out.returncode}")
        return 1
    print("ok: the demo stopped its ensemble before the benchmark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
