#!/usr/bin/env python3
"""The layer boundaries of chorus, checked (docs/architecture.md, "Layers").

Every C++ file under a layer's directory may include only what that layer is
allowed: the table RULES below. A violation is printed as
"file:line: includes X, which LAYER may not (allowed: ...)" and the check
fails. Examples may include only headers that `meson install` installs, which
the check reads from the build directory (meson introspect), their own
directory's, and examples/common/'s (helpers their tools share).

    boundaries.py SOURCE_ROOT BUILD_ROOT [--plant FILE INCLUDE]...

--plant adds an include line to a file in memory before checking, so a test
can show that the check catches a forbidden include (tests/meson.build):
then the exit status is 0 only if every planted include was reported.
"""
import argparse
import json
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')

# What an include is, from its spelling. Order matters: first match wins.
KINDS = [
    ("base", lambda q, p: q and p.startswith("base/")),
    ("core-proto", lambda q, p: q and p in ("zab/zab.pb.h", "zab/membership.pb.h")),
    ("core", lambda q, p: q and p.startswith("zab/core/")),
    ("runtime", lambda q, p: q and p.startswith("zab/runtime/")),
    ("net", lambda q, p: q and p.startswith("net/")),
    ("storage", lambda q, p: q and p.startswith("storage/")),
    ("client-proto", lambda q, p: q and p == "session/client.pb.h"),
    ("group-names", lambda q, p: q and p == "session/groups.h"),
    ("session", lambda q, p: q and p.startswith("session/")),
    ("client", lambda q, p: q and p.startswith("client/")),
    ("cli", lambda q, p: q and p.startswith("cli/")),
    ("examples", lambda q, p: q and p.startswith("examples/")),
    ("tests", lambda q, p: q and (p.startswith("tests/") or p.startswith("bench/"))),
    ("boost", lambda q, p: not q and p.startswith("boost/")),
    ("rocksdb", lambda q, p: not q and p.startswith("rocksdb/")),
    ("protobuf", lambda q, p: not q and p.startswith("google/protobuf/")),
    ("logging", lambda q, p: not q and (p.startswith("spdlog/") or p.startswith("fmt/"))),
    ("cli11", lambda q, p: not q and p.startswith("CLI/")),
    ("toml11", lambda q, p: not q and p.startswith("toml")),
    ("json", lambda q, p: not q and p.startswith("nlohmann/")),
    ("openssl", lambda q, p: not q and p.startswith("openssl/")),
    ("test-libs", lambda q, p: not q and p.split("/")[0] in ("gtest", "gmock", "benchmark")),
    ("posix", lambda q, p: not q and (p.endswith(".h") and "/" not in p or p.split("/")[0]
                                      in ("sys", "netinet", "arpa", "linux"))),
    ("std", lambda q, p: not q and "/" not in p and "." not in p),
]

STD = {"std"}
# Directory -> the kinds it may include (its own directory always). The most
# specific directory wins (zab/core before zab). tests/ and bench/ are free.
RULES = {
    "base": STD,
    "zab/core": STD | {"base", "core", "core-proto", "protobuf"},
    "storage": STD | {"posix", "base", "storage", "rocksdb", "protobuf", "logging"},
    "net": STD | {"posix", "base", "net", "boost", "protobuf", "logging"},
    "zab/runtime": STD | {"posix", "base", "core", "core-proto", "runtime", "net", "storage",
                          "boost", "protobuf", "logging"},
    "session": STD | {"posix", "base", "core", "core-proto", "runtime", "net", "storage",
                      "session", "client-proto", "group-names", "boost", "protobuf", "logging",
                      "openssl"},
    "client": STD | {"base", "net", "client", "client-proto", "group-names", "boost",
                     "protobuf"},
    # cli/ also holds the flags of a ZooKeeper port (cli/zookeeper_flags.h),
    # which fill in session/zookeeper's options.
    "cli": STD | {"posix", "base", "net", "core", "runtime", "session", "client-proto",
                  "boost", "logging", "cli11", "toml11", "json"},
}
# A program's main (a *_main.cc, e.g. chorus-server's) may also use cli/.
# Known exceptions, each with its reason; an exception that no longer
# happens is reported too, so this list cannot rot.
EXCEPTIONS = set()
FREE = ("tests", "bench")


def layer_of(path):
    best = None
    for d in list(RULES) + ["examples"] + list(FREE):
        if path == d or path.startswith(d + "/"):
            if best is None or len(d) > len(best):
                best = d
    return best


def kind_of(quoted, inc):
    for name, test in KINDS:
        if test(quoted, inc):
            return name
    return "unknown"


def installed_headers(build_root):
    out = subprocess.run(["meson", "introspect", "--installed", build_root],
                         check=True, capture_output=True, text=True).stdout
    headers = set()
    for dest in json.loads(out).values():
        m = re.search(r"/include/chorus/(.+\.h)$", dest)
        if m:
            headers.add(m.group(1))
    return headers


def sources(root):
    for top in sorted(set(d.split("/")[0] for d in list(RULES) + ["examples"])):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if n.endswith((".h", ".cc")):
                    yield os.path.relpath(os.path.join(dirpath, n), root)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source_root")
    ap.add_argument("build_root")
    ap.add_argument("--plant", nargs=2, action="append", default=[],
                    metavar=("FILE", "INCLUDE"))
    args = ap.parse_args()
    planted = {}
    for f, inc in args.plant:
        planted.setdefault(f, []).append(f"#include {inc}")
    to_catch = [(f, inc.strip('<>"')) for f, inc in args.plant]

    installed = installed_headers(args.build_root)
    problems, checked, used_exceptions = [], 0, set()
    for rel in sources(args.source_root):
        layer = layer_of(rel)
        if layer is None or layer in FREE:
            continue
        with open(os.path.join(args.source_root, rel), encoding="utf-8") as f:
            lines = f.read().splitlines() + planted.pop(rel, [])
        checked += 1
        for no, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            quoted, inc = m.group(1) == '"', m.group(2)
            kind = kind_of(quoted, inc)
            if layer == "examples":
                # Its own directory's headers, and examples/common/ (small
                # helpers the examples' tools share, such as tables).
                own = quoted and (inc.startswith(os.path.dirname(rel) + "/") or
                                  inc.startswith("examples/common/"))
                ok = own or (quoted and inc in installed) or (
                    not quoted and kind not in ("unknown",))
                if not ok:
                    problems.append(f"{rel}:{no}: includes {inc}, which is not an installed "
                                    "header (examples use chorus as applications do)")
                continue
            if quoted and inc.startswith(layer + "/"):
                continue
            if kind in RULES[layer]:
                continue
            if kind == "cli" and rel.endswith("_main.cc"):
                continue  # a program's main may take the shared flags and stop signals
            if (rel, kind) in EXCEPTIONS:
                used_exceptions.add((rel, kind))
                continue
            allowed = ", ".join(sorted(RULES[layer]))
            problems.append(f"{rel}:{no}: includes {inc} ({kind}), which {layer}/ may not "
                            f"(allowed: its own headers, {allowed})")
    for f in planted:
        problems.append(f"--plant {f}: no such file under a checked layer")
    for rel, kind in sorted(EXCEPTIONS - used_exceptions):
        problems.append(f"exception ({rel}, {kind}) is no longer needed: remove it")
    for p in problems:
        print(p)
    if to_catch:
        missed = [(f, inc) for f, inc in to_catch
                  if not any(p.startswith(f + ":") and f"includes {inc}" in p for p in problems)]
        for f, inc in missed:
            print(f"planted include {inc} in {f} was NOT caught")
        print(f"layer boundaries: {len(to_catch) - len(missed)} of {len(to_catch)} planted "
              "include(s) caught")
        return 1 if missed else 0
    if problems:
        print(f"layer boundaries: {len(problems)} problem(s) in {checked} files")
        return 1
    print(f"layer boundaries: {checked} files include only what their layer may")
    return 0


if __name__ == "__main__":
    sys.exit(main())
