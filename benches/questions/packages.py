#!/usr/bin/env python3
"""Build a multilingual question set from Debian package descriptions.

What it builds
    OUT/corpus/<package>.txt   1,500 short texts: the English long description of one
                               Debian package each (no package name, no short description)
    OUT/packages.json          100 questions for `xref eval`, 25 each in en, de, fr, zh:
                               {"corpus": "OUT/corpus", "questions": [{"query", "lang",
                               "answers": ["snippet"]}, ...]}

From where
    The Debian bookworm description translations (DDTP), main component:
    http://deb.debian.org/debian/dists/bookworm/main/i18n/Translation-{en,de,fr,zh_CN}
    (.bz2 where the mirror has it, else .xz; Translation-en is published as .xz only).
    The downloads are cached under OUT/cache and reused when present.

How the truth is known (by construction)
    A translation carries the Description-md5 of the English description it translates.
    The query is the package's own short description, translated (de, fr, zh_CN) or in
    English; the right answer is that same package's English long description. The answer
    snippet is the start (~50 characters, cut at a word boundary) of the first paragraph
    of that long description, checked to occur in no other corpus file, so exactly one
    document can be right.

Filters (counts are printed when the script runs)
    * not a library/boilerplate package: names starting with lib, fonts-, python3-,
      python-, r-cran-, r-bioc-, golang-, node-, ruby-, texlive, firmware, php-, elpa-,
      haskell-, gir1.2-, or ending in -dev, -doc, -dbg, -data, -common, -l10n, or
      containing -l10n-, -dbgsym;
    * English long description (as written to the corpus) of 150 to 1,500 characters;
    * unique texts: no long description and no short description (in each language the
      package has, compared case-insensitively) shared with another package of the
      archive (generic texts such as "This package contains the documentation" would
      make the truth ambiguous);
    * the long description does not contain the short description (case-insensitively),
      else the question would be copied text;
    * questions only: the English description has de, fr and zh_CN translations (same
      Description-md5).
    Bookworm has only ~430 packages that pass every filter including the translations
    (zh_CN is the limit), fewer than the 1,500 of the corpus. So the corpus is all of
    them plus English-only packages that pass the other filters, drawn with
    random.Random(37).sample() from the survivors sorted by name. The questions are the
    same generator's shuffle of the fully translated packages (sorted by name), taken in
    order, skipping a package whose snippet cannot be made unique (its first paragraph is
    shared, as in aptitude / aptitude-doc-*); languages rotate en, de, fr, zh. A key,
    OUT/packages-key.tsv (package, lang, query, snippet), is written alongside.

Run
    python3 benches/questions/packages.py target/questions/packages
    target/release/xref eval target/questions/packages/packages.json \\
        --index target/questions/packages/.xref
"""

import argparse
import bz2
import json
import lzma
import os
import random
import re
import sys
import urllib.request

MIRROR = "http://deb.debian.org/debian/dists/bookworm/main/i18n/"
LANGS = ["en", "de", "fr", "zh_CN"]
QUESTION_LANGS = [("en", "en"), ("de", "de"), ("fr", "fr"), ("zh", "zh_CN")]
CORPUS_SIZE = 1500
QUESTIONS = 100
SEED = 37
MIN_LONG, MAX_LONG = 150, 1500
SNIPPET_CHARS = 50
SNIPPET_MIN, SNIPPET_MAX = 20, 120

PREFIXES = ("lib", "fonts-", "python3-", "python-", "r-cran-", "r-bioc-", "golang-",
            "node-", "ruby-", "texlive", "firmware", "php-", "elpa-", "haskell-",
            "gir1.2-")
SUFFIXES = ("-dev", "-doc", "-dbg", "-data", "-common", "-l10n")
INFIXES = ("-l10n-", "-dbgsym")
BULLET = re.compile(r"^\s*(?:[*+o-]|\d+[.)])\s+")


def log(*args):
    print(*args, file=sys.stderr)


def fetch(lang, cache):
    """Decompressed text of Translation-<lang>, downloaded once into `cache`."""
    os.makedirs(cache, exist_ok=True)
    for ext, opener in (("bz2", bz2.decompress), ("xz", lzma.decompress)):
        path = os.path.join(cache, f"Translation-{lang}.{ext}")
        if not os.path.exists(path):
            url = f"{MIRROR}Translation-{lang}.{ext}"
            try:
                with urllib.request.urlopen(url, timeout=120) as r:
                    data = r.read()
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    continue
                raise
            tmp = path + ".part"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            log(f"downloaded {url} ({len(data)} bytes)")
        with open(path, "rb") as f:
            return opener(f.read()).decode("utf-8")
    sys.exit(f"Translation-{lang} not found at {MIRROR} (.bz2 or .xz)")


def stanzas(text):
    """deb822 stanzas as dicts; a field's value keeps its continuation lines."""
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.split("\n"):
            if not line:
                continue
            if line[0] in " \t" and key:
                fields[key].append(line)
            else:
                key, _, value = line.partition(":")
                fields[key] = [value.strip()]
        if fields:
            yield fields


def paragraphs(lines):
    """Paragraphs of a long description: each a list of lines (wrapped text, indented
    continuations included, joined with single spaces; a bullet item starts a line)."""
    paras, cur = [], []
    for raw in lines:
        if raw.strip() == ".":
            if cur:
                paras.append(cur)
            cur = []
            continue
        text = " ".join(raw.split())
        if not text:
            continue
        if cur and not BULLET.match(raw):
            cur[-1] += " " + text
        else:
            cur.append(text)
    if cur:
        paras.append(cur)
    return paras


def render(paras):
    return "\n\n".join("\n".join(p) for p in paras) + "\n"


def parse(text, lang):
    """md5 -> (package, short, long lines) for one Translation file."""
    field = f"Description-{lang}"
    out = {}
    for s in stanzas(text):
        if field not in s or "Description-md5" not in s:
            continue
        md5 = s["Description-md5"][0]
        out.setdefault(md5, []).append((s.get("Package", [""])[0], s[field][0], s[field][1:]))
    return out


def excluded(name):
    return (name.startswith(PREFIXES) or name.endswith(SUFFIXES)
            or any(i in name for i in INFIXES))


def snippet_for(first_line, others):
    """The start of `first_line` (~50 chars, cut at a word boundary) that occurs in no
    text of `others`, lengthened word by word when needed; None when none is unique."""
    words = [m.end() for m in re.finditer(r"\S+", first_line)]
    if not words:
        return None
    # the longest cut at a word end within SNIPPET_CHARS, else the first word end after it
    start = max([e for e in words if e <= SNIPPET_CHARS] or [words[0]])
    for end in (e for e in words if e >= start):
        cut = first_line[:end]
        if end > SNIPPET_MAX:
            return None
        if len(cut) >= SNIPPET_MIN and not any(cut in t for t in others):
            return cut
    return None


def select(out):
    """The filtered selection, shared with packages_multi.py: a dict with `tr` (lang ->
    md5 -> [(package, short, long lines)]), `english` (package -> (md5, short, long
    text)), `counts` (filter -> survivors), `full` (the fully translated survivors,
    sorted), `corpus` (sorted package names) and `rng` (random.Random(SEED) after the
    corpus draw, for the question shuffle)."""
    tr = {lang: parse(fetch(lang, os.path.join(out, "cache")), lang) for lang in LANGS}

    # English packages: name -> (md5, short, long text)
    english = {}
    for md5, entries in tr["en"].items():
        for name, short, long_lines in entries:
            english[name] = (md5, short, render(paragraphs(long_lines)))
    counts = {"English descriptions (packages)": len(english)}

    # Texts occurring for more than one package, anywhere in the archive.
    seen = {}
    for lang in LANGS:
        for md5, entries in tr[lang].items():
            for name, short, long_lines in entries:
                seen.setdefault((lang, "short", short.casefold()), set()).add(name)
                if lang == "en":
                    long_key = " ".join(" ".join(long_lines).split()).casefold()
                    seen.setdefault((lang, "long", long_key), set()).add(name)

    def shared(lang, kind, text):
        return len(seen.get((lang, kind, text), ())) > 1

    names = sorted(english)
    counts["(with de, fr and zh_CN translations, before any other filter)"] = sum(
        all(english[n][0] in tr[lang] for lang in LANGS[1:]) for n in names)
    names = [n for n in names if not excluded(n)]
    counts["not library/boilerplate by name"] = len(names)
    names = [n for n in names if MIN_LONG <= len(english[n][2].strip()) <= MAX_LONG]
    counts[f"long description {MIN_LONG}-{MAX_LONG} chars"] = len(names)

    def long_key(n):
        md5 = english[n][0]
        lines = next(e[2] for e in tr["en"][md5] if e[0] == n)
        return " ".join(" ".join(lines).split()).casefold()

    def translated(n):
        return all(english[n][0] in tr[lang] for lang in LANGS[1:])

    def unique(n):
        md5, short, _ = english[n]
        if shared("en", "long", long_key(n)):
            return False
        for lang in LANGS if translated(n) else LANGS[:1]:
            # every entry of an md5 carries the same translation
            if shared(lang, "short", tr[lang][md5][0][1].casefold()):
                return False
        return True

    names = [n for n in names if unique(n)]
    counts["unique long and short descriptions"] = len(names)
    names = [n for n in names
             if english[n][1].casefold() not in " ".join(english[n][2].split()).casefold()]
    counts["long description does not contain the short one"] = len(names)
    full = [n for n in names if translated(n)]
    counts["... of which with de, fr and zh_CN translations (question pool)"] = len(full)
    rest = sorted(set(names) - set(full))

    # Every fully translated package goes into the corpus (there are fewer than
    # CORPUS_SIZE of them in bookworm); English-only packages, sampled, fill the rest.
    rng = random.Random(SEED)
    if len(full) >= CORPUS_SIZE:
        corpus = sorted(rng.sample(full, CORPUS_SIZE))
    else:
        corpus = sorted(full + rng.sample(rest, CORPUS_SIZE - len(full)))
    return {"tr": tr, "english": english, "counts": counts, "full": full,
            "corpus": corpus, "rng": rng}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default="target/questions/packages",
                    help="output folder (default: target/questions/packages)")
    args = ap.parse_args()
    out = args.out
    sel = select(out)
    tr, english, counts, full, corpus, rng = (
        sel[k] for k in ("tr", "english", "counts", "full", "corpus", "rng"))

    cdir = os.path.join(out, "corpus")
    os.makedirs(cdir, exist_ok=True)
    keep = {f"{n}.txt" for n in corpus}
    for f in os.listdir(cdir):
        if f.endswith(".txt") and f not in keep:
            os.remove(os.path.join(cdir, f))
    for n in corpus:
        with open(os.path.join(cdir, f"{n}.txt"), "w", encoding="utf-8") as f:
            f.write(english[n][2])

    texts = {n: english[n][2] for n in corpus}
    order = sorted(set(corpus) & set(full))
    rng.shuffle(order)
    questions, skipped = [], 0
    for n in order:
        if len(questions) == QUESTIONS:
            break
        first_line = texts[n].split("\n", 1)[0]
        snip = snippet_for(first_line, [t for m, t in texts.items() if m != n])
        if snip is None:
            skipped += 1
            continue
        lang, tlang = QUESTION_LANGS[len(questions) % len(QUESTION_LANGS)]
        md5 = english[n][0]
        query = tr[tlang][md5][0][1]
        questions.append({"query": query, "lang": lang, "answers": [snip], "package": n})
    if len(questions) < QUESTIONS:
        sys.exit(f"only {len(questions)} questions with a unique snippet")

    gold = {"corpus": cdir,
            "questions": [{k: q[k] for k in ("query", "lang", "answers")} for q in questions]}
    with open(os.path.join(out, "packages.json"), "w", encoding="utf-8") as f:
        json.dump(gold, f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(os.path.join(out, "packages-key.tsv"), "w", encoding="utf-8") as f:
        for q in questions:
            f.write(f"{q['package']}\t{q['lang']}\t{q['query']}\t{q['answers'][0]}\n")

    for k, v in counts.items():
        log(f"{v:6d}  {k}")
    per_lang = {}
    for q in questions:
        per_lang[q["lang"]] = per_lang.get(q["lang"], 0) + 1
    log(f"corpus: {len(corpus)} files in {cdir}")
    log(f"questions: {len(questions)} {per_lang} ({skipped} skipped: no unique snippet)")
    log(f"wrote {os.path.join(out, 'packages.json')}")


if __name__ == "__main__":
    main()
