"""Embedding throughput of the Python package against the CLI, on the same texts.

    target/python-venv/bin/python benches/python/embed.py [--repeat 3]

Texts: the seed's paragraphs (`xref paragraphs seeds/ --json`), passage prefix. The CLI's
time is its own embedding phase (`XREF_PROFILE=1`), model loading left out; the package's
time is one `xref.embed` call after the model is loaded. Prints tokens/s for each and the
ratio (the target: the package at >= 95 % of the CLI)."""

import argparse
import json
import os
import re
import subprocess
import time
from pathlib import Path

import xref

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("XREF_BIN", str(ROOT / "target/release/xref"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.chdir(ROOT)
    out = subprocess.run([BIN, "paragraphs", "seeds/", "--json"], capture_output=True,
                         text=True, check=True).stdout
    texts = [json.loads(line)["text"] for line in out.splitlines() if line]
    lines = "\n".join(texts) + "\n"
    run = subprocess.run([BIN, "embed"], input=lines, capture_output=True, text=True, check=True)
    tokens = sum(json.loads(line)["tokens"] for line in run.stdout.splitlines() if line)
    cli, py = [], []
    xref.embed(texts[:4])  # load the model
    for _ in range(args.repeat):
        r = subprocess.run([BIN, "embed"], input=lines, capture_output=True, text=True,
                           check=True, env={**os.environ, "XREF_PROFILE": "1"})
        cli.append(float(re.search(r"embed ([0-9.]+) s", r.stderr).group(1)))
        t = time.perf_counter()
        xref.embed(texts)
        py.append(time.perf_counter() - t)
    best_cli, best_py = min(cli), min(py)
    print(json.dumps({
        "texts": len(texts), "tokens": tokens,
        "cli_tokens_per_s": round(tokens / best_cli), "python_tokens_per_s": round(tokens / best_py),
        "python_vs_cli": round(best_cli / best_py, 3),
    }))


if __name__ == "__main__":
    main()
