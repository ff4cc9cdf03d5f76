"""xref from Python, notebook style: build an index of a folder, ask, relate, cross-reference,
and take the vectors to NumPy / pandas.

    pip install ./python            # from a checkout: builds the wheel with maturin
    python examples/python_quickstart.py [FOLDER]   # default: seeds/
"""

import sys
from collections import Counter

import numpy as np

import xref

folder = sys.argv[1] if len(sys.argv) > 1 else "seeds/"

# Build (or update: only what changed is embedded again) the index of a folder.
index = xref.Index.build([folder], ".xref-python-example")
print(index)
for d in index.documents()[:5]:
    print(f"  {d['id']}  {d['paragraphs']:>3} paragraphs  {d['doc'][:60]}")

# Ask, in any language: a record as `xref search --json` prints it.
answer = index.search("What drives new quality productive forces?", k=3)
print(f"\n? {answer['query']}  (in corpus: {answer['in_corpus']})")
for hit in answer["hits"]:
    print(f"  [{hit['score']:.3f}] {hit['doc'][:40]} › {hit['section'] or ''}")
    print(f"      » {hit['sentence'] or hit['text'][:100]}")

# Passages in other documents related to the best hit.
best = answer["hits"][0]["id"]
for link in index.related(best, k=3)["links"]:
    print(f"  ~ [{link['score']:.3f}] {link['doc'][:40]}: {link['text'][:60]}")

# The cross-reference list: one record per paragraph with its links above the threshold.
rows = index.crossref(k=5)
linked = [r for r in rows if r["links"]]
print(f"\n{sum(len(r['links']) for r in rows)} links from {len(linked)} of {len(rows)} paragraphs")
pairs = Counter((r["doc"][:20], l["doc"][:20]) for r in rows for l in r["links"])
for (a, b), n in pairs.most_common(3):
    print(f"  {n:>3}  {a} → {b}")

# Vectors for your own pipeline (FAISS, scikit-learn, …): rows L2-normalised, float32.
v = xref.embed(["新质生产力", "new quality productive forces", "the weather today"], prefix="query")
print("\ncosine similarities:\n", np.round(v @ v.T, 3))

# With pandas installed: pandas.DataFrame(answer["hits"]) or pandas.DataFrame(index.paragraphs()).
