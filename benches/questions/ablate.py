#!/usr/bin/env python3
"""The ranking ablation: every question set, every ranking step switched off in turn.

For each question set below, `xref eval SET --ablate --json` answers its questions with the
default ranking, with each channel alone (dense, lexical), and with each step of the default
switched off in turn (`rank::Components`), and this script prints one table: MRR@10 of the
default and each row's change. Then translation-link recall (`xref eval --pairs`) on every
parallel corpus. A step stays in xref only where it helps on sets it was not chosen on.

    python3 benches/questions/ablate.py [--xref target/release/xref] [--out target/questions]
        [--json target/questions/ablation.json]

Sets (built or fetched on first use, then reused; indexes under OUT):
  seed            tests/gold/seed.json — policy prose, Chinese corpus, zh/en questions
  manpages        tests/gold/manpages-en.json — 8 English manual pages, zh/en questions
  library         the same 32 questions on a library that also holds the Chinese kernel
                  documentation (benches/heldout/fetch.sh)
  seed-lib, manpages-lib  the seed's and the pages' questions on one library of both
                  (Chinese policy documents beside English manual pages)
  packages        benches/questions/packages.py — 1,500 English package descriptions,
                  100 questions in en/de/fr/zh
  packages-multi  benches/questions/packages_multi.py — the descriptions in en/de/fr/zh,
                  100 questions; a right answer in any language counts
  split-across    benches/questions/packages_split.py — each description in one language
                  only, 120 questions asked in another language than their answer's
  split-same      the same library, 40 questions asked in their answer's language
  bilingual-zh/fr tests/gold/bilingual-{zh,fr}.json — a manual page's NAME line asked for
                  in the other language of tests/parallel{,-fr}
Parallel corpora: tests/parallel (zh/en), tests/parallel-fr (fr/en), the kernel
documentation (zh/en, benches/heldout), packages-multi (de/en, fr/en, zh/en).
Needs python3, and apt-get for the kernel documentation.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xref", default="target/release/xref")
    ap.add_argument("--out", default="target/questions")
    ap.add_argument("--json", default=None, help="also write every figure here")
    args = ap.parse_args()
    xref, out = args.xref, args.out

    def ensure(path, build):
        if not os.path.exists(os.path.join(ROOT, path)):
            print(f"building {path} …", file=sys.stderr)
            build()

    ensure(f"{out}/packages/packages.json",
           lambda: run([sys.executable, f"{HERE}/packages.py", f"{out}/packages"]))
    ensure(f"{out}/packages-multi/packages-multi.json",
           lambda: run([sys.executable, f"{HERE}/packages_multi.py", f"{out}/packages-multi",
                        "--xref", xref]))
    ensure(f"{out}/packages-split/packages-split.json",
           lambda: run([sys.executable, f"{HERE}/packages_split.py", f"{out}/packages-split",
                        "--xref", xref]))
    ensure("target/heldout/zh", lambda: run(["bash", "benches/heldout/fetch.sh", "target/heldout"]))

    def index(name, paths):
        idx = f"{out}/{name}.xref"
        run([xref, "index", *paths, "--index", idx])
        return idx

    sets = [
        ("seed", "tests/gold/seed.json", None),
        ("manpages", "tests/gold/manpages-en.json", None),
        ("library", "tests/gold/manpages-en.json", ["tests/parallel/en", "target/heldout/zh"]),
        ("seed-lib", "tests/gold/seed.json", ["seeds", "tests/parallel/en"]),
        ("manpages-lib", "tests/gold/manpages-en.json", ["seeds", "tests/parallel/en"]),
        ("packages", f"{out}/packages/packages.json", None),
        ("packages-multi", f"{out}/packages-multi/packages-multi.json", None),
        ("split-across", f"{out}/packages-split/packages-split.json", None),
        ("split-same", f"{out}/packages-split/packages-split-same.json", None),
        ("bilingual-zh", "tests/gold/bilingual-zh.json", ["tests/parallel/zh", "tests/parallel/en"]),
        ("bilingual-fr", "tests/gold/bilingual-fr.json",
         ["tests/parallel-fr/fr", "tests/parallel-fr/en"]),
    ]
    results = {}
    for name, gold, paths in sets:
        # The two split sets ask one library.
        iname = {"split-across": "packages-split", "split-same": "packages-split",
                 "manpages-lib": "seed-lib"}.get(name, name)
        idx = index(iname, paths) if paths else f"{out}/{iname}.xref"
        r = run([xref, "eval", gold, "--ablate", "--json", "--index", idx])
        results[name] = json.loads(r.stdout)
        print(f"{name}: done", file=sys.stderr)

    rows = [r["ranking"] for r in next(iter(results.values()))["rows"]]
    names = [n for n, _, _ in sets]
    print("| ranking | " + " | ".join(f"{n} ({results[n]['questions']})" for n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for ranking in rows:
        cells = []
        for n in names:
            by = {r["ranking"]: r["scores"]["all"]["mrr10"] for r in results[n]["rows"]}
            base = by["hybrid"]
            cells.append(f"{by[ranking]:.3f}" if ranking == "hybrid" else f"{by[ranking] - base:+.3f}")
        print(f"| {ranking} | " + " | ".join(cells) + " |")
    total = sum(results[n]["questions"] for n in names)
    print(f"\nMRR@10 of the default (hybrid) row; the others: change against it. {total} questions.")

    pairs = [
        ("manual pages zh/en", "tests/parallel/zh", "tests/parallel/en"),
        ("manual pages fr/en", "tests/parallel-fr/fr", "tests/parallel-fr/en"),
        ("kernel docs zh/en", "target/heldout/zh", "target/heldout/en"),
    ]
    for lang in ("de", "fr", "zh"):
        pairs.append((f"package descriptions {lang}/en",
                      f"{out}/packages-multi/corpus/{lang}", f"{out}/packages-multi/corpus/en"))
    print("\n| parallel corpus | direction | recall@1 | recall@10 |\n|---|---|---|---|")
    results["pairs"] = {}
    for name, a, b in pairs:
        idx = f"{out}/pairs-{name.replace(' ', '-').replace('/', '-')}.xref"
        r = json.loads(run([xref, "eval", "--pairs", a, b, "--json", "--index", idx]).stdout)
        results["pairs"][name] = r
        for d, v in r["directions"].items():
            print(f"| {name} | {d} | {v['recall1']:.3f} | {v['recall10']:.3f} |")
    if args.json:
        with open(os.path.join(ROOT, args.json), "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
