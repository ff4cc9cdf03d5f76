#!/usr/bin/env python3
"""Write a gold set of questions in other languages against the English manual pages.

Usage: name_questions.py EN_DIR OUT.json TRANSLATED_DIR...
       name_questions.py --bilingual ROOT LANG OUT.json
       name_questions.py --off-topic GOLD.json SEED_GOLD.json OUT.json

Every manual page opens with a NAME line, "cp - copy files and directories", which its
translations translate: "cp - copier des fichiers et des répertoires" (French, section NOM),
"cp - Dateien und Verzeichnisse kopieren" (German, BEZEICHNUNG). Each translated
description, without the command's name, becomes a question whose answer is the English
page's NAME line, so the ground truth comes by construction. The gold file's corpus is
EN_DIR alone: the questions ask across languages. Twelve questions on things no manual page
covers (cooking, football, history, weather), in French and German, are the out-of-corpus
set, written by hand.

    bash benches/parallel/fetch.sh target/parallel-fr fr
    bash benches/parallel/fetch.sh target/parallel-de de
    python3 benches/parallel/name_questions.py target/parallel-fr/en target/latin-questions.json \\
        target/parallel-fr/fr target/parallel-de/de
    xref eval target/latin-questions.json --index target/latin-questions.xref

With --bilingual, the corpus is both folders of ROOT (ROOT/LANG and ROOT/en, as fetch.sh
lays them out) and every page's description, in either language, asks for the other
language's NAME line: its own-language twin ranks first, and hit@5 says whether the
translation follows within five answers. No out-of-corpus questions.

    python3 benches/parallel/name_questions.py --bilingual target/parallel-fr fr target/bi-fr.json
    xref eval target/bi-fr.json --index target/parallel-fr/.xref

With --off-topic, GOLD.json gains off-topic questions (out of corpus for any manual page):
every question of the seed's gold set, its out-of-corpus ones and the twelve French and
German ones: whether `xref search` flags them, beside the in-corpus questions of GOLD.json.

    python3 benches/parallel/name_questions.py --off-topic target/bi-zh.json \\
        tests/gold/seed.json target/bi-zh-off.json
    xref eval target/bi-zh-off.json --index target/parallel/.xref
"""
import json
import os
import sys

NAME = {"en": "NAME", "fr": "NOM", "de": "BEZEICHNUNG", "es": "NOMBRE", "zh": "名称"}
OUT_OF_CORPUS = [
    "Quelle est la recette traditionnelle de la ratatouille ?",
    "Qui a gagné la Coupe du monde de football en 1998 ?",
    "Comment planter des tomates dans un potager ?",
    "Quelle est la capitale de l'Australie ?",
    "Pourquoi le ciel est-il bleu pendant la journée ?",
    "Quels sont les symptômes de la grippe saisonnière ?",
    "Wie backt man einen Apfelstrudel?",
    "Wer hat die Fußballweltmeisterschaft 2014 gewonnen?",
    "Wann fiel die Berliner Mauer?",
    "Wie pflanzt man Tomaten im Garten?",
    "Welche Symptome hat eine Grippe?",
    "Warum ist der Himmel am Tag blau?",
]


def description(path, lang):
    """The NAME line's description (after "name - "), or None."""
    if not os.path.exists(path):
        return None
    paragraphs = [p.strip() for p in open(path, encoding="utf-8").read().split("\n\n")]
    for heading, line in zip(paragraphs, paragraphs[1:]):
        if heading == f"## {NAME[lang]}" and " - " in line:
            return line.split(" - ", 1)[1].strip()
    return None


def bilingual(root, lang, out):
    questions = []
    for page in sorted(os.listdir(os.path.join(root, lang))):
        theirs = description(os.path.join(root, lang, page), lang)
        english = description(os.path.join(root, "en", page), "en")
        if theirs and english and theirs != english:
            questions.append({"query": theirs, "lang": lang, "answers": [english]})
            questions.append({"query": english, "lang": "en", "answers": [theirs]})
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"corpus": root, "questions": questions}, f, ensure_ascii=False, indent=1)
    print(f"name_questions.py: {len(questions)} questions on {root} written to {out}")


def off_topic(gold_in, seed_gold, out):
    """GOLD_IN with every question of the seed's gold set (Chinese policy, 63) and its
    out-of-corpus ones (12), and the French and German ones above (12), added to its
    out-of-corpus questions: 87 questions no manual page answers, in four languages."""
    with open(gold_in, encoding="utf-8") as f:
        gold = json.load(f)
    with open(seed_gold, encoding="utf-8") as f:
        seed = json.load(f)
    extra = [q["query"] for q in seed["questions"]] + seed["out_of_corpus"] + OUT_OF_CORPUS
    own = gold.get("out_of_corpus", [])
    gold["out_of_corpus"] = own + [q for q in extra if q not in own]
    with open(out, "w", encoding="utf-8") as f:
        json.dump(gold, f, ensure_ascii=False, indent=1)
    print(f"name_questions.py: {len(gold['out_of_corpus'])} off-topic questions, written to {out}")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--bilingual":
        return bilingual(*sys.argv[2:])
    if len(sys.argv) == 5 and sys.argv[1] == "--off-topic":
        return off_topic(*sys.argv[2:])
    if len(sys.argv) < 4:
        sys.exit(
            "usage: name_questions.py EN_DIR OUT.json TRANSLATED_DIR...\n"
            "       name_questions.py --bilingual ROOT LANG OUT.json\n"
            "       name_questions.py --off-topic GOLD.json SEED_GOLD.json OUT.json"
        )
    en_dir, out, translated = sys.argv[1], sys.argv[2], sys.argv[3:]
    questions = []
    for page in sorted(os.listdir(en_dir)):
        answer = description(os.path.join(en_dir, page), "en")
        if not answer:
            continue
        for folder in translated:
            lang = os.path.basename(os.path.normpath(folder))
            query = description(os.path.join(folder, page), lang)
            if query:
                questions.append({"query": query, "lang": lang, "answers": [answer]})
    gold = {"corpus": en_dir, "questions": questions, "out_of_corpus": OUT_OF_CORPUS}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(gold, f, ensure_ascii=False, indent=1)
    print(f"name_questions.py: {len(questions)} questions on {en_dir} written to {out}")


if __name__ == "__main__":
    main()
