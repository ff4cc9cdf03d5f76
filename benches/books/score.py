#!/usr/bin/env python3
"""How whole xref reads a book PDF, scored against the same book in markup.

For each BOOK.pdf in DIR/pdf with a twin folder DIR/html/BOOK/ (benches/books/fetch.sh):

* whole: of the twin's substantial paragraphs (<p> outside tables, >= 60 characters, 30
  for CJK; letters, digits and punctuation compared, spaces and hyphens not), the share
  that one PDF paragraph holds with at most a little more or less (15 % + 20 characters: a
  glued heading or a neighbour's sentence fails it). Held: the paragraph whole in it, or,
  for paragraphs of 96+ characters, its first and last 24 characters in order (the PDF
  and HTML word some cross-references differently). found: the share held at all, fitting
  or not (cut paragraphs fail it). A cross-reference's quoted title after its number
  (which the PDF leaves out) and a list item's bullet are not compared;
* documents: how many documents xref makes of the book;
* section: the share of paragraphs with a section path; section right: of the twin's
  paragraphs found whole, the share whose PDF section ends with the twin's nearest heading
  (footnotes, which the twin gathers under a "Footnotes" heading of their own, aside);
* bad titles: document titles that are no heading of the twin (table cells, code lines);
* furniture: the share of PDF paragraphs carrying a running header or footer line as
  pypdf, an independent extractor, finds it: the top or bottom line of a page whose text,
  numbers taken out, stands at the top or bottom of 5+ pages (a bare page number aside:
  "100" stands in many a sentence);
* MB/s: the PDF's size over `xref paragraphs`' wall time (one process, model not loaded).

Usage: python3 benches/books/score.py XREF_BINARY DIR [BOOK ...] [--json]
Needs pypdf (pip install pypdf) for the furniture count.
"""
import html.parser
import json
import logging
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path


def norm(s):
    s = unicodedata.normalize("NFKC", s)
    # A cross-reference's title after its number, which the PDF leaves out ("Section 10.3,
    # \u201cData security\u201d" -> "Section 10.3", "第 9.4 节 \u201c…\u201d" -> "第 9.4 节"); a list
    # item's bullet or number.
    s = re.sub(r"(\d)\s*([节章表]?)\s*[,，]?\s*(\u201c[^\u201d]{1,120}\u201d|\u201e[^\u201c]{1,120}\u201c|«[^»]{1,120}»)", r"\1\2", s)
    s = re.sub(r"^\s*(?:[•◦▪‣·●○■–—*-]|\d{1,2}[.)]|\[\d{1,3}\])\s*", "", s)
    s = s.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-",
                                   "\u00ad": None, "\u00a0": " "}))
    return re.sub(r"[\s\-‐]+", "", s).lower()


def text_key(s):
    """norm() of a paragraph's text, less what two renderings of one text print apart."""
    # A table's caption label, which dblatex prints in its own words for some languages
    # ("Table 11.6 – Liste …" in the PDF, "Tableau 11.6. Liste …" in the HTML).
    s = re.sub(r"^\s*(?:Table|Tableau|Tabelle|Tabla|表)\s*(\d+(?:\.\d+)*)\s*[.:：–—-]?\s*", r"table§\1§", s)
    # Texinfo's printed cross-references: "Section 5.4 [The array() function], page 22" and
    # "Section “Invoking R” in …" where HTML links the title alone.
    s = re.sub(r"\b(?:Section|Chapter|Appendix)\s+[\dA-Z][\d.]*\s+\[([^\]]*)\],?\s*page\s+\d+", r"\1", s)
    s = re.sub(r"\bSection\s+“([^”]*)”", r"\1", s)
    # Japanese DocBook: a cross-reference is the title in HTML ("「候補バージョンの調整」")
    # and the number in print ("項2.7.3"); both read as one mark.
    s = re.sub(r"「[^」]{1,80}」|項\s?\d+(?:\.\d+)*", "§", s)
    # Renderings of one text that differ in print: a footnote's reference number, glued to
    # its word ("libraries35" in HTML is "libraries7" in a PDF numbering per chapter), and
    # a link's address that print spells out after its text ("rJava (https://…)").
    s = re.sub(r"(?:(?<=[A-Za-z)\"\u201d])|(?<=[\"\u201d]\.))\s?\d{1,3}(?=[\s,.;:)\u3000-\u9fff]|$)|\[\d{1,3}\]", "", s)
    s = re.sub(r"\s*\(\s*https?:[^()\s]*(?:\s[^()\s]*)?\)", "", s)
    return norm(s)


def cjk_heavy(s):
    return sum(1 for c in s if "\u3040" <= c <= "\u9fff") > len(s) / 3


class Twin(html.parser.HTMLParser):
    """<p> paragraphs outside tables and navigation, each with its nearest heading."""

    SKIP = {"script", "style", "table", "pre", "nav"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paras, self.headings = [], []
        self.skip = 0
        self.p = None
        self.h = None
        self.heading = None
        self.in_footnotes = False
        self.divs = []

    # Texinfo's per-node navigation ("Next: …, Previous: …, Up: … [Contents][Index]").
    NAV_DIVS = {"header", "nav-panel"}
    # Footnotes (DocBook's div.footnote, Sphinx's aside.footnote): set at a page's foot in
    # print, under whatever section that page is in, so no section to check.
    NOTE_BOXES = {"footnote", "footnotes"}
    BOXES = {"div", "aside", "dl"}

    def handle_starttag(self, tag, attrs):
        if tag in self.BOXES:
            classes = set((dict(attrs).get("class") or "").split())
            nav = bool(self.NAV_DIVS & classes)
            self.divs.append((tag, nav, bool(self.NOTE_BOXES & classes)))
            self.skip += nav
        if tag in self.SKIP:
            self.skip += 1
        if self.skip:
            return
        cls = (dict(attrs).get("class") or "").split()
        if tag == "p" or (tag == "div" and cls[:1] in (["Normal"], ["Notes"], ["Annotations"])):
            self.p, self.ptag = [], tag
        elif re.fullmatch(r"h[1-6]", tag):
            self.h = None if "toc" in cls else []
            # Footnotes gathered under a heading of their own at the page's end: the
            # PDF sets them at the page's foot, under no heading, so no section to check.
            self.in_footnotes = self.in_footnotes or "footnotes-heading" in cls
        elif tag == "br" and self.p is not None:
            self.p.append(" ")

    def handle_endtag(self, tag):
        if tag in self.BOXES and self.divs:
            self.skip -= self.divs.pop()[1]
        if tag in self.SKIP:
            self.skip = max(self.skip - 1, 0)
            return
        if self.skip:
            return
        if self.p is not None and tag == getattr(self, "ptag", "p"):
            t = " ".join("".join(self.p).split())
            if t:
                note = self.in_footnotes or any(d[2] for d in self.divs)
                self.paras.append((t, None if note else self.heading))
            self.p = None
        elif re.fullmatch(r"h[1-6]", tag) and self.h is not None:
            t = " ".join("".join(self.h).replace("¶", "").split())
            if t:
                self.heading = t
                self.headings.append(t)
            self.h = None

    def handle_data(self, data):
        if self.skip:
            return
        if self.p is not None:
            self.p.append(data)
        if self.h is not None:
            self.h.append(data)


def twin(folder):
    paras, headings = [], []
    for f in sorted(Path(folder).glob("*.html")):
        t = Twin()
        t.feed(f.read_text(encoding="utf-8", errors="replace"))
        paras += t.paras
        headings += t.headings
    return paras, headings


def heading_key(h):
    """A heading without its number ("3.1.1 Stage 1: the UEFI" -> "stage1:theuefi")."""
    h = re.sub(r"^(chapter|kapitel|chapitre|capitolo|capítulo|annex|appendix|anhang|annexe)?\s*[\dA-Z]*(\.\d+)*\.?\s+", "", h, flags=re.I)
    h = re.sub(r"^第\s*\d+\s*章\s*", "", h)
    return norm(h)


def furniture_lines(pdf):
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)

    pages = []
    for page in PdfReader(pdf).pages:
        try:
            lines = [l.strip() for l in (page.extract_text() or "").splitlines() if l.strip()]
        except Exception:
            lines = []
        pages.append(lines[:2] + lines[-2:])
    count = {}
    for lines in pages:
        for k in {re.sub(r"[0-9ivxlcdm]+", "", norm(l)) for l in lines}:
            count[k] = count.get(k, 0) + 1
    out = set()
    for lines in pages:
        for l in lines:
            k = re.sub(r"[0-9ivxlcdm]+", "", norm(l))
            # A bare page number ("100") is no text to look for: it stands in many a
            # sentence and table.
            bare = re.fullmatch(r"[0-9ivxlcdm]+", norm(l))
            if count.get(k, 0) >= 5 and re.search(r"\d|^[ivxlcdm]+$|\s[ivxlcdm]+$|^[ivxlcdm]+\s", l) and len(norm(l)) >= 3 and not bare:
                out.add(norm(l))
    return out


def fits(g, k):
    """Whether passage key k is paragraph key g with at most a little more or less."""
    return len(g) * 0.85 - 20 <= len(k) <= len(g) * 1.15 + 20


def held(g, keys, joined, starts):
    """The PDF paragraph holding twin paragraph g: the one that contains it whole, else one
    that holds its first and last 24 characters in order (the two renderings of a book may
    word a cross-reference differently: "Section 10.3" against "Section 10.3, \u201cData
    security\u201d"); preferring one that fits (see fits)."""
    import bisect

    best = None
    i = joined.find(g)
    while i >= 0:
        j = bisect.bisect_right(starts, i) - 1
        if i + len(g) <= starts[j] + len(keys[j]):
            if fits(g, keys[j]):
                return j
            best = j if best is None else best
        i = joined.find(g, i + 1)
    if best is not None or len(g) < 96:
        return best
    head, tail = g[:24], g[-24:]
    i = joined.find(head)
    while i >= 0:
        j = bisect.bisect_right(starts, i) - 1
        k = keys[j]
        at = k.find(tail, i - starts[j] + 24)
        if at >= 0:
            if fits(g, k):
                return j
            best = j if best is None else best
        i = joined.find(head, i + 1)
    return best


def run(xref, args):
    r = subprocess.run([xref, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{xref} {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def score(xref, root, book):
    pdf = root / "pdf" / f"{book}.pdf"
    t0 = time.perf_counter()
    out = run(xref, ["paragraphs", str(pdf), "--json", "--max-chars", "1000000"])
    secs = time.perf_counter() - t0
    paras = [json.loads(l) for l in out.splitlines() if l.strip()]
    docs = [json.loads(l) for l in run(xref, ["docs", str(pdf), "--json"]).splitlines() if l.strip()]
    gold, headings = twin(root / "html" / book)
    gold = [(t, h) for t, h in gold if len(norm(t)) >= (30 if cjk_heavy(t) else 60)]
    keys = [text_key(p["text"]) for p in paras]
    joined = "\x00".join(keys)
    starts = []
    at = 0
    for k in keys:
        starts.append(at)
        at += len(k) + 1
    import bisect

    whole = found = sec_right = sec_checked = 0
    misses = []
    for t, h in gold:
        g = text_key(t)
        hit = held(g, keys, joined, starts)
        if hit is not None:
            found += 1
            if fits(g, keys[hit]):
                whole += 1
                sec = paras[hit].get("section") or ""
                sec_checked += h is not None
                if h and norm(sec).endswith(heading_key(h)):
                    sec_right += 1
                continue
        misses.append(t[:120])
    hkeys = {heading_key(h) for h in headings} | {norm(h) for h in headings}
    titles = [d.get("title", d.get("doc", "")) for d in docs]
    bad_titles = [t for t in titles if heading_key(t) not in hkeys and norm(t) not in hkeys]
    try:
        furn = furniture_lines(pdf)
    except ImportError:
        furn = None
    carrying = None
    if furn is not None:
        carrying = sum(1 for p in paras if any(f in norm(p["text"]) for f in furn))
    n = max(len(paras), 1)
    return {
        "book": book,
        "pages_mb": round(pdf.stat().st_size / 1e6, 2),
        "paragraphs": len(paras),
        "gold": len(gold),
        "whole": round(whole / max(len(gold), 1), 4),
        "found": round(found / max(len(gold), 1), 4),
        "documents": len(docs),
        "section": round(sum(1 for p in paras if p.get("section")) / n, 4),
        "section_right": round(sec_right / max(sec_checked, 1), 4),
        "bad_titles": len(bad_titles),
        "bad_title_examples": bad_titles[:5],
        "furniture": None if carrying is None else round(carrying / n, 4),
        "mb_per_s": round(pdf.stat().st_size / 1e6 / secs, 2),
        "miss_examples": misses[:8],
    }


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    as_json = "--json" in sys.argv
    xref, root = args[0], Path(args[1])
    books = args[2:] or sorted(p.stem for p in (root / "pdf").glob("*.pdf") if (root / "html" / p.stem).is_dir())
    rows = []
    for b in books:
        r = score(xref, root, b)
        rows.append(r)
        if as_json:
            print(json.dumps(r, ensure_ascii=False), flush=True)
        else:
            print(f"{r['book']:<26} whole {r['whole']:.3f} (found {r['found']:.3f}, of {r['gold']})  docs {r['documents']:>3}  "
                  f"section {r['section']:.3f} right {r['section_right']:.3f}  bad titles {r['bad_titles']:>3}  "
                  f"furniture {r['furniture']}  {r['mb_per_s']} MB/s", flush=True)


if __name__ == "__main__":
    main()
