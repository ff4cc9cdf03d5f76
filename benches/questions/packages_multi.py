#!/usr/bin/env python3
"""Build a multilingual library of Debian package descriptions, with questions.

The variant of packages.py (same sources, cache, filters, seed and corpus draw) that holds
the translations too, as a multilingual documentation site would.

What it builds
    OUT/corpus/en/<package>.txt    the 1,500 English long descriptions of packages.py
                                   (every fully translated package that passes the
                                   filters, ~431, plus the sampled English-only ones)
    OUT/corpus/{de,fr,zh}/<package>.txt
                                   the translated long description of each fully
                                   translated corpus package (same writing: one line per
                                   paragraph or bullet item; zh wrapped lines joined
                                   without a space next to CJK characters); a translation
                                   whose text equals the English one (an untranslated
                                   copy) is left out
    OUT/packages-multi.json        100 questions for `xref eval`, 25 each in en, de, fr,
                                   zh: {"corpus": "OUT/corpus", "questions": [{"query",
                                   "lang", "answers": [snippet per language version]}]}
    OUT/packages-multi-key.tsv     package, lang, query, then the answers

How the truth is known
    The query is the package's short description in the question's language (as in
    packages.py); a right answer is any language version of that package's long
    description. There is one answer snippet per version present: the start of its first
    paragraph, ~50 characters cut at a word boundary (zh: 25 characters, no word
    boundaries), lengthened until it occurs in no other corpus file of any language.
    Questions follow packages.py's discipline: random.Random(37) after the corpus draw
    shuffles the fully translated corpus packages (sorted by name), taken in order,
    skipping a package when any of its versions gets no unique snippet; languages rotate
    en, de, fr, zh. After writing, the script checks with `xref paragraphs OUT/corpus
    --json` that every snippet is in exactly one paragraph (skip with --no-check).

Run
    python3 benches/questions/packages_multi.py [OUT]   # default target/questions/packages-multi
    target/release/xref eval target/questions/packages-multi/packages-multi.json \\
        --index target/questions/packages-multi/.xref --json
    target/release/xref eval target/questions/packages-multi/packages-multi.json \\
        --index target/questions/packages-multi/.xref --ablate --json
    # do a description's links reach its own translation? (likewise fr and zh)
    target/release/xref eval --pairs target/questions/packages-multi/corpus/de \\
        target/questions/packages-multi/corpus/en \\
        --index target/questions/packages-multi/.xref --json
    The first eval indexes the corpus (2,793 files, 6,450 paragraphs: about 75 s on two
    cores); the others reuse the index. The downloads are cached under OUT/cache (copy
    target/questions/packages/cache there to skip them). In the shared index --pairs
    counts a link to the package's third or fourth language as a miss, so recall@1 there
    is far below that of an index of the two folders alone (--index elsewhere).
"""

import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import packages as P  # noqa: E402

TRANSLATIONS = [("de", "de"), ("fr", "fr"), ("zh", "zh_CN")]
ZH_CHARS, ZH_MAX = 25, 80
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


def cjk_join(lines):
    """Render a translated long description as P.render(P.paragraphs(...)) does, but join
    wrapped lines without a space where either side of the join is a CJK character."""
    paras = P.paragraphs(lines)
    if not any(CJK.search(line) for p in paras for line in p):
        return P.render(paras)
    # Redo the join: paragraphs() put single spaces at every wrap.
    out, cur = [], []
    for raw in lines:
        if raw.strip() == ".":
            if cur:
                out.append(cur)
            cur = []
            continue
        text = " ".join(raw.split())
        if not text:
            continue
        if cur and not P.BULLET.match(raw):
            sep = "" if CJK.match(text[0]) or CJK.match(cur[-1][-1]) else " "
            cur[-1] += sep + text
        else:
            cur.append(text)
    if cur:
        out.append(cur)
    return P.render([[zh_spaces(line) for line in p] for p in out])


def is_cjk(c):
    """xref's CJK class (src/text/script.rs is_cjk)."""
    u = ord(c)
    return (0x3000 <= u <= 0x30FF or 0x3100 <= u <= 0x312F or 0x31F0 <= u <= 0x31FF
            or 0x3400 <= u <= 0x4DBF or 0x4E00 <= u <= 0x9FFF or 0xF900 <= u <= 0xFAFF
            or 0xFE30 <= u <= 0xFE4F or 0xFF00 <= u <= 0xFFEF or 0x20000 <= u <= 0x2FFFF)


def is_cjk_punct(c):
    u = ord(c)
    return 0x3000 <= u <= 0x303F or 0xFE30 <= u <= 0xFE4F or (
        0xFF00 <= u <= 0xFFEF and not c.isalnum())


def drop_space(a, b):
    """Is the space between `a` and `b` one xref drops when it reads Chinese text
    (src/ingest/text.rs drop_space_between: no space between an ideograph and an
    ideograph, a digit or a typographic quote/dash, nor before full-width punctuation,
    nor after it before ASCII punctuation)? Written so, the files hold the text verbatim
    as xref indexes it and a zh snippet is found as it is."""
    def cls(c):
        if c.isascii() and c.isdigit():
            return "digit"
        if is_cjk(c):
            return "cjk"
        u = ord(c)
        if 0x2018 <= u <= 0x201F or u in (0x2014, 0x2015, 0x2026, 0xB7, 0x2022, 0x2027):
            return "neutral"
        return "latin" if c.isalpha() else "other"
    ca, cb = cls(a), cls(b)
    return ((ca == "cjk" and cb in ("cjk", "digit", "neutral"))
            or (ca in ("digit", "neutral") and cb == "cjk")
            or (cb == "cjk" and is_cjk_punct(b))
            or (ca == "cjk" and cb == "other" and is_cjk_punct(a)))


def zh_spaces(line):
    return re.sub(r"(?<=\S) (?=\S)",
                  lambda m: "" if drop_space(line[m.start() - 1], line[m.end()]) else " ",
                  line)


TERMINAL = re.compile(r"[。！？!?；;….：:][”’\"'」』》）)】\]]*$")


def zh_first_line(text):
    """The first line of the first paragraph as xref indexes it. xref reads a leading
    paragraph followed by more text as the document's title, not as a paragraph, when it
    has no sentence punctuation (。！？), no terminal punctuation or closing bracket at its
    end and no comma there (src/ingest/docsplit.rs detect_title; as in athena-jot's
    Chinese "athena jot - 简称为 jot - 打印…，每行一个"): then the snippet is taken from
    the next paragraph."""
    paras = text.rstrip("\n").split("\n\n")
    first = paras[0]
    title = (len(paras) > 1 and len(first) <= 250 and not TERMINAL.search(first)
             and not first.endswith(("）", ")", "，", ","))
             and not any(c in first for c in "。！？"))
    return paras[1 if title else 0].split("\n", 1)[0]


def zh_snippet(first_line, others):
    """The first ZH_CHARS characters of `first_line`, lengthened a character at a time
    until they occur in no text of `others`; None when none is unique."""
    for end in range(min(ZH_CHARS, len(first_line)), min(ZH_MAX, len(first_line)) + 1):
        cut = first_line[:end].rstrip()
        if len(cut) >= 10 and cut == first_line[:end] and not any(cut in t for t in others):
            return cut
    return None


def norm(text):
    return " ".join(text.split()).casefold()


def check(out, cdir, questions, xref):
    """Every snippet in exactly one paragraph of `xref paragraphs`; returns the misses."""
    res = subprocess.run([xref, "paragraphs", cdir, "--json"], capture_output=True,
                         text=True, check=True)
    texts = [json.loads(line)["text"] for line in res.stdout.splitlines() if line.strip()]
    bad = []
    for q in questions:
        for a in q["answers"]:
            n = sum(a in t for t in texts)
            if n != 1:
                bad.append((q["package"], a, n))
    P.log(f"check: {len(texts)} paragraphs; "
          f"{sum(len(q['answers']) for q in questions) - len(bad)} snippets in exactly one")
    return bad


def write_corpus(out, docs):
    """Write docs ({lang: {package: text}}) as OUT/corpus/<lang>/<package>.txt, removing
    files of an earlier run that are no longer part of it; returns the corpus folder."""
    cdir = os.path.join(out, "corpus")
    for lang, files in docs.items():
        d = os.path.join(cdir, lang)
        os.makedirs(d, exist_ok=True)
        keep = {f"{n}.txt" for n in files}
        for f in os.listdir(d):
            if f.endswith(".txt") and f not in keep:
                os.remove(os.path.join(d, f))
        for n, text in files.items():
            with open(os.path.join(d, f"{n}.txt"), "w", encoding="utf-8") as f:
                f.write(text)
    return cdir


def arguments(doc, default_out):
    """The command line the package-set builders share: OUT, --xref, --no-check."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("out", nargs="?", default=default_out,
                    help=f"output folder (default: {default_out})")
    ap.add_argument("--xref", default="target/release/xref",
                    help="xref binary for the snippet check (default: target/release/xref)")
    ap.add_argument("--no-check", action="store_true",
                    help="skip the `xref paragraphs` snippet check")
    return ap.parse_args()


def main():
    args = arguments(__doc__, "target/questions/packages-multi")
    out = args.out
    sel = P.select(out)
    tr, english, counts, full, corpus, rng = (
        sel[k] for k in ("tr", "english", "counts", "full", "corpus", "rng"))

    # lang -> package -> text
    docs = {"en": {n: english[n][2] for n in corpus}}
    copies = {}
    fullset = set(full)
    for lang, tlang in TRANSLATIONS:
        docs[lang] = {}
        for n in corpus:
            if n not in fullset:
                continue
            text = cjk_join(tr[tlang][english[n][0]][0][2])
            if not text.strip() or norm(text) == norm(english[n][2]):
                copies[lang] = copies.get(lang, 0) + 1
                continue
            docs[lang][n] = text

    cdir = write_corpus(out, docs)

    every = [(lang, n, t) for lang, files in docs.items() for n, t in files.items()]
    order = sorted(set(corpus) & fullset)
    rng.shuffle(order)
    questions, skipped = [], 0
    for n in order:
        if len(questions) == P.QUESTIONS:
            break
        answers = []
        for lang in docs:
            if n not in docs[lang]:
                continue
            if lang == "zh":
                first_line = zh_first_line(docs[lang][n])
            else:
                first_line = docs[lang][n].split("\n", 1)[0]
            others = [t for l2, m, t in every if (l2, m) != (lang, n)]
            pick = zh_snippet if lang == "zh" else P.snippet_for
            snip = pick(first_line, others)
            if snip is None:
                break
            answers.append(snip)
        else:
            lang, tlang = P.QUESTION_LANGS[len(questions) % len(P.QUESTION_LANGS)]
            query = tr[tlang][english[n][0]][0][1]
            questions.append({"query": query, "lang": lang, "answers": answers,
                              "package": n})
            continue
        skipped += 1
    if len(questions) < P.QUESTIONS:
        sys.exit(f"only {len(questions)} questions with unique snippets")

    gold = {"corpus": cdir,
            "questions": [{k: q[k] for k in ("query", "lang", "answers")} for q in questions]}
    with open(os.path.join(out, "packages-multi.json"), "w", encoding="utf-8") as f:
        json.dump(gold, f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(os.path.join(out, "packages-multi-key.tsv"), "w", encoding="utf-8") as f:
        for q in questions:
            f.write("\t".join([q["package"], q["lang"], q["query"]] + q["answers"]) + "\n")

    for k, v in counts.items():
        P.log(f"{v:6d}  {k}")
    P.log("corpus: " + ", ".join(f"{lang} {len(files)}" for lang, files in docs.items())
          + f" files in {cdir}"
          + (f" (untranslated copies left out: {copies})" if copies else ""))
    per_lang = {}
    for q in questions:
        per_lang[q["lang"]] = per_lang.get(q["lang"], 0) + 1
    P.log(f"questions: {len(questions)} {per_lang} ({skipped} skipped: no unique snippet); "
          f"{sum(len(q['answers']) for q in questions)} answer snippets")
    P.log(f"wrote {os.path.join(out, 'packages-multi.json')}")

    if not args.no_check:
        bad = check(out, cdir, questions, args.xref)
        for n, a, k in bad:
            P.log(f"  {n}: snippet {a!r} in {k} paragraphs")
        if bad:
            sys.exit(f"{len(bad)} snippets not in exactly one paragraph")


if __name__ == "__main__":
    main()
