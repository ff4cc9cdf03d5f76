#!/usr/bin/env python3
"""Build a library whose languages cover different subjects, from Debian package
descriptions, with cross-language and same-language questions.

The variant of packages.py / packages_multi.py (same sources, cache, filters, corpus draw
and writing rules) where each package's long description is in exactly ONE language, as
in a real multilingual library whose documents are not translations of each other: the
question has to cross languages to find its answer, and there is no other-language copy
of the answer to land on instead.

What it builds
    OUT/corpus/{en,de,fr,zh}/<package>.txt
                                   the ~431 fully translated packages that pass
                                   packages.py's filters, sorted by name, shuffled with
                                   random.Random(39) and assigned round-robin to en, de,
                                   fr, zh: only that language's long description is
                                   written (zh: packages_multi.py's spacing, wrapped
                                   lines joined without a space next to CJK). Plus, under
                                   en/, the 1,069 English-only packages of packages.py's
                                   corpus, so English is the largest language.
    OUT/packages-split.json        120 cross-language questions: the package's short
                                   description in a language other than the one its
                                   long description is written in; every ordered pair
                                   (asked -> answer) of the four languages 10 times, so
                                   30 asked in each language and 30 answered in each
    OUT/packages-split-same.json   40 control questions asked in the answer's language,
                                   10 per language, on the first 10 packages of each
                                   answer language of the cross-language set (the same
                                   documents and snippets: only the query's language
                                   differs, so the two files compare pairwise)
    OUT/packages-split-key.tsv     set (cross/same), package, asked lang, answer lang,
                                   query, snippet
    Both JSON files: {"corpus": "OUT/corpus", "questions": [{"query", "lang",
    "answers": ["snippet"]}]}, "lang" being the language the question is asked in.

From where
    Debian bookworm DDTP Translation-{en,de,fr,zh_CN} (main), as packages.py; the
    downloads are cached under OUT/cache (copy target/questions/packages/cache there to
    skip them).

How the truth is known (by construction)
    A translation carries the Description-md5 of the English description it translates,
    so a package's short description in any language and its long description in any
    language describe the same package; the corpus holds that package's long description
    in one language only, so it is the one right answer. The answer snippet is the start
    of its first paragraph (~50 characters cut at a word boundary; zh 25 characters), or
    of the second when xref reads the first as the document's title (packages_multi.py's
    zh_first_line, applied in every language: French "Mousepad est un éditeur de texte
    graphique pour Xfce, basé sur Leafpad" is such a title), lengthened until it occurs
    in no other corpus file. Questions:
    the same random.Random(39), after the assignment, shuffles the pool again; packages
    are taken in that order, a package whose answer language already has its 30 questions
    is passed over, the asked language rotates through the other three languages per
    answer language, and a package is skipped when it gets no unique snippet or when its
    short description in the asked language equals the one in the answer language (an
    untranslated short description, e.g. "GNU Bourne Again SHell", would be a
    same-language question in disguise). After writing, the script checks with `xref
    paragraphs OUT/corpus --json` that every snippet is in exactly one paragraph (skip
    with --no-check).

Run
    python3 benches/questions/packages_split.py [OUT]   # default target/questions/packages-split
    target/release/xref eval target/questions/packages-split/packages-split.json \\
        --index target/questions/packages-split/.xref --ablate --json
    target/release/xref eval target/questions/packages-split/packages-split-same.json \\
        --index target/questions/packages-split/.xref --ablate --json
    The first eval indexes the corpus (1,500 files); the second reuses the index.
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import packages as P  # noqa: E402
import packages_multi as M  # noqa: E402

SEED = 39
LANGS = ["en", "de", "fr", "zh"]
DDTP = {"en": "en", "de": "de", "fr": "fr", "zh": "zh_CN"}
CROSS_PER_PAIR = 10   # 12 ordered pairs: 120 questions, 30 asked / answered per language
SAME_PER_LANG = 10    # 40 control questions


def main():
    args = M.arguments(__doc__, "target/questions/packages-split")
    out = args.out
    sel = P.select(out)
    tr, english, counts, full, corpus = (
        sel[k] for k in ("tr", "english", "counts", "full", "corpus"))

    def short(n, lang):
        return english[n][1] if lang == "en" else tr[DDTP[lang]][english[n][0]][0][1]

    def long_text(n, lang):
        if lang == "en":
            return english[n][2]
        return M.cjk_join(tr[DDTP[lang]][english[n][0]][0][2])

    # Assignment: the fully translated survivors, sorted, shuffled, round-robin.
    rng = random.Random(SEED)
    pool = sorted(full)
    rng.shuffle(pool)
    home = {n: LANGS[i % len(LANGS)] for i, n in enumerate(pool)}
    docs = {lang: {} for lang in LANGS}
    for n in pool:
        text = long_text(n, home[n])
        if not text.strip() or (home[n] != "en" and M.norm(text) == M.norm(english[n][2])):
            sys.exit(f"{n}: no {home[n]} long description of its own")
        docs[home[n]][n] = text
    extra = sorted(set(corpus) - set(full))
    for n in extra:
        docs["en"][n] = english[n][2]

    cdir = M.write_corpus(out, docs)

    # Questions: the same generator shuffles the pool again.
    every = [(lang, n, t) for lang, files in docs.items() for n, t in files.items()]
    order = list(pool)
    rng.shuffle(order)
    others_of = {a: [q for q in LANGS if q != a] for a in LANGS}
    per_answer = CROSS_PER_PAIR * (len(LANGS) - 1)
    taken = {a: 0 for a in LANGS}
    cross, skipped = [], {"no unique snippet": 0, "untranslated short description": 0}
    for n in order:
        if len(cross) == per_answer * len(LANGS):
            break
        a = home[n]
        if taken[a] == per_answer:
            continue
        asked = others_of[a][taken[a] % len(others_of[a])]
        query = short(n, asked)
        if query.casefold() == short(n, a).casefold():
            skipped["untranslated short description"] += 1
            continue
        text = docs[a][n]
        first_line = M.zh_first_line(text)   # xref's title rule holds in every language
        others = [t for l2, m, t in every if (l2, m) != (a, n)]
        snip = (M.zh_snippet if a == "zh" else P.snippet_for)(first_line, others)
        if snip is None:
            skipped["no unique snippet"] += 1
            P.log(f"  no unique snippet: {n} ({a}) {first_line[:60]!r}")
            continue
        taken[a] += 1
        cross.append({"query": query, "lang": asked, "answers": [snip], "package": n,
                      "answer_lang": a})
    if len(cross) < per_answer * len(LANGS):
        sys.exit(f"only {len(cross)} cross-language questions ({taken})")

    same = []
    for a in LANGS:
        for q in [q for q in cross if q["answer_lang"] == a][:SAME_PER_LANG]:
            same.append({"query": short(q["package"], a), "lang": a,
                         "answers": q["answers"], "package": q["package"],
                         "answer_lang": a})

    for name, qs in (("packages-split.json", cross), ("packages-split-same.json", same)):
        gold = {"corpus": cdir,
                "questions": [{k: q[k] for k in ("query", "lang", "answers")} for q in qs]}
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump(gold, f, ensure_ascii=False, indent=2)
            f.write("\n")
    with open(os.path.join(out, "packages-split-key.tsv"), "w", encoding="utf-8") as f:
        for kind, qs in (("cross", cross), ("same", same)):
            for q in qs:
                f.write("\t".join([kind, q["package"], q["lang"], q["answer_lang"],
                                   q["query"], q["answers"][0]]) + "\n")

    for k, v in counts.items():
        P.log(f"{v:6d}  {k}")
    P.log("corpus: " + ", ".join(f"{lang} {len(files)}" for lang, files in docs.items())
          + f" files in {cdir} (en: {len(docs['en']) - len(extra)} assigned"
          f" + {len(extra)} English-only)")
    pairs = {}
    for q in cross:
        pairs[(q["lang"], q["answer_lang"])] = pairs.get((q["lang"], q["answer_lang"]), 0) + 1
    P.log(f"cross-language questions: {len(cross)} (asked->answer: "
          + ", ".join(f"{x}->{y} {c}" for (x, y), c in sorted(pairs.items()))
          + f"); skipped: {skipped}")
    P.log(f"same-language questions: {len(same)} "
          + str({a: sum(q['lang'] == a for q in same) for a in LANGS}))
    P.log(f"wrote {os.path.join(out, 'packages-split.json')} and packages-split-same.json")

    if not args.no_check:
        bad = M.check(out, cdir, cross, args.xref)
        for n, a, k in bad:
            P.log(f"  {n}: snippet {a!r} in {k} paragraphs")
        if bad:
            sys.exit(f"{len(bad)} snippets not in exactly one paragraph")


if __name__ == "__main__":
    main()
