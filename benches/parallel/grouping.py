#!/usr/bin/env python3
"""How questions in a bilingual library are answered with translations grouped (held out
for rank::Params::translation_min, which was chosen on the Debian Reference's HTML).

Every manual page's NAME description ("copy files and directories", "copier des fichiers
et des répertoires") becomes a question in its own language against a library of both
folders. Reported: the share of questions whose first answer is in the question's
language, the share whose first answer is the page asked for (its NAME line, or a
paragraph of the same page), and of every translation attached to a hit, the share that
comes from the same page in the other language (true by construction).

    bash benches/parallel/fetch.sh target/parallel-fr fr
    target/release/xref index target/parallel-fr/en target/parallel-fr/fr --index target/parallel-fr/.xref
    python3 benches/parallel/grouping.py target/release/xref target/parallel-fr fr
"""
import json, re, subprocess, sys
from pathlib import Path

xref, root, lang = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
index = str(root / ".xref")

def name_line(path):
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^#+ *\S+\s*\n+(.+? - .+)$", text, re.M) or re.search(r"^(\S+ - .+)$", text, re.M)
    return m.group(1).split(" - ", 1)[1].strip() if m else None

questions = []  # (question, its language, page stem)
for l in ("en", lang):
    for p in sorted((root / l).glob("*.md")):
        d = name_line(p)
        if d and len(d) >= 8:
            questions.append((d, l, p.stem))
paras = {}
for line in subprocess.run([xref, "paragraphs", "--json", "--index", index], capture_output=True,
                           text=True, check=True).stdout.splitlines():
    p = json.loads(line)
    paras[p["id"]] = (Path(p["source"]).parent.name, Path(p["source"]).stem)
out = subprocess.run([xref, "search", "--json", "-k", "5", "--queries", "-", "--index", index],
                     input="\n".join(q for q, _, _ in questions) + "\n", capture_output=True,
                     text=True, check=True).stdout
own = right = attached = same_page = 0
for (q, l, stem), line in zip(questions, out.splitlines()):
    hits = json.loads(line)["hits"]
    if not hits:
        continue
    first = hits[0]
    own += first["lang"] == l
    right += paras[first["id"]][1] == stem
    for h in hits:
        for t in h.get("translations", []):
            attached += 1
            same_page += paras[t["id"]][1] == paras[h["id"]][1] and paras[t["id"]][0] != paras[h["id"]][0]
n = len(questions)
print(json.dumps({"questions": n, "first_in_own_language": round(own / n, 3),
                  "first_is_the_page": round(right / n, 3), "translations_attached": attached,
                  "translations_from_the_same_page": round(same_page / max(attached, 1), 3)}))
