#!/usr/bin/env python3
"""PDF throughput on one core: `xref paragraphs FILE --json` pinned to core 0
(`taskset -c 0`), best of 7 runs, for each PDF of BOOKS/pdf, and over all of them.
Pass several xref binaries to compare them on the same machine.

    python3 benches/books/speed.py [BOOKS_DIR] XREF [XREF ...]
"""
import glob
import os
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    books = args.pop(0) if args and os.path.isdir(args[0]) else "target/books"
    bins = args or ["target/release/xref"]
    files = sorted(glob.glob(os.path.join(books, "pdf", "*.pdf")))
    if not files:
        sys.exit(f"no PDFs in {books}/pdf (bash benches/books/fetch.sh {books})")
    print("%-30s" % "book" + "".join("%14s" % os.path.basename(b)[-13:] for b in bins))
    total = [0.0] * len(bins)
    size = 0.0
    for f in files:
        mb = os.path.getsize(f) / 1e6
        size += mb
        row = []
        for i, b in enumerate(bins):
            best = float("inf")
            for _ in range(7):
                t = time.perf_counter()
                subprocess.run(["taskset", "-c", "0", b, "paragraphs", f, "--json"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                best = min(best, time.perf_counter() - t)
            total[i] += best
            row.append(mb / best)
        print("%-30s" % os.path.basename(f) + "".join("%9.2f MB/s" % r for r in row), flush=True)
    print("%-30s" % f"all ({size:.1f} MB)" + "".join("%9.2f MB/s" % (size / t) for t in total))


if __name__ == "__main__":
    main()
