#!/usr/bin/env python3
"""Runs the curl examples of docs/groupd.md against a fresh three-server
groupd ensemble, in order, and checks each prints what the doc says.

Usage: groupd_docs_test.py GROUPD CHORUSCTL DOC

Every ```sh block is run with bash (errexit, pipefail); the doc's addresses
127.0.0.1:8001-8003 become the test ensemble's ports. A ```json, ```http
or ```text block right after it is its expected output."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import groupdlib  # noqa: E402

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def blocks(doc):
    """[(command, expected_kind, expected_text)] for every ```sh block."""
    found = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(doc)]
    out = []
    for n, (kind, text, _start, end) in enumerate(found):
        if kind != "sh":
            continue
        expected = (None, None)
        if n + 1 < len(found):
            nkind, ntext, nstart, _ = found[n + 1]
            if nkind in ("json", "http", "text") and doc[end:nstart].strip() == "":
                expected = (nkind, ntext)
        out.append((text, *expected))
    return out


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check_http(expected, actual):
    """Status line and headers (Content-Length aside), then the body as JSON."""
    def split(text):
        text = text.replace("\r\n", "\n")
        head, _, body = text.partition("\n\n")
        lines = head.splitlines()
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        headers.pop("content-length", None)
        return lines[0].strip(), headers, body.strip()

    e_status, e_headers, e_body = split(expected)
    a_status, a_headers, a_body = split(actual)
    problems = []
    if e_status != a_status:
        problems.append(f"status line {a_status!r}, the doc says {e_status!r}")
    for name, value in e_headers.items():
        if a_headers.get(name) != value:
            problems.append(f"header {name}: {a_headers.get(name)!r}, the doc says {value!r}")
    if e_body and json_lines(e_body) != json_lines(a_body):
        problems.append(f"body {a_body!r}")
    return problems


def main():
    groupd, chorusctl, doc_path = sys.argv[1:4]
    doc = open(doc_path).read()
    examples = blocks(doc)
    if len(examples) < 10:
        print(f"FAIL: only {len(examples)} runnable examples found in {doc_path}")
        return 1
    workdir = tempfile.mkdtemp(prefix="groupd-docs-")
    ens = groupdlib.Ensemble(groupd, workdir)
    failures = 0
    try:
        ens.start_all()
        if ens.wait_ready() is None:
            print("FAIL: the ensemble did not become ready\n" + ens.tail_logs())
            return 1
        ports = {f"127.0.0.1:800{i}": f"127.0.0.1:{ens.http_ports[i]}" for i in range(1, 4)}

        def localise(text):
            # Through placeholders: a test port may itself be 8002 or 8003.
            for n, doc_address in enumerate(ports):
                text = text.replace(doc_address, f"\0{n}\0")
            for n, address in enumerate(ports.values()):
                text = text.replace(f"\0{n}\0", address)
            return text.replace("build/examples/chorusctl", chorusctl)

        for n, (command, kind, expected) in enumerate(examples, 1):
            run = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", localise(command)],
                                 capture_output=True, text=True, timeout=60)
            shown = command.strip().splitlines()[0]
            problems = []
            if run.returncode != 0:
                problems.append(f"exit status {run.returncode}: {run.stderr.strip()}")
            elif kind == "json":
                try:
                    if json_lines(run.stdout) != json_lines(localise(expected)):
                        problems.append(f"printed {run.stdout.strip()!r}")
                except ValueError as e:
                    problems.append(f"printed {run.stdout.strip()!r} (not JSON: {e})")
            elif kind == "http":
                problems += check_http(localise(expected), run.stdout)
            elif kind == "text":
                if run.stdout.strip() != localise(expected).strip():
                    problems.append(f"printed {run.stdout.strip()!r}")
            status = "ok" if not problems else "FAIL"
            print(f"{status}: example {n}: {shown}")
            for p in problems:
                print(f"      {p}")
            failures += bool(problems)
        print(f"{len(examples) - failures} of {len(examples)} examples print what docs/groupd.md says")
        if failures:
            print(ens.tail_logs())
        return 1 if failures else 0
    finally:
        ens.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
