#!/usr/bin/env python3
"""Render a manual page (troff) to Markdown that xref ingests as one document.

Usage: man2md.py PAGE.gz OUT.md

The page is rendered by the system's `man` with one line per paragraph (a very wide
MANWIDTH), then: the header and footer lines are dropped, unindented lines become
`##` section headings, an option tag and its indented description become one paragraph,
and every other block of lines separated by a blank line becomes a paragraph. The title is
the page's name and section, e.g. `# cp(1)`, the same in every language, so titles carry no
translation signal.
"""
import os
import re
import subprocess
import sys


def render(page):
    env = dict(os.environ, MANWIDTH="4000", MAN_KEEP_FORMATTING="0", LC_ALL="C.UTF-8")
    out = subprocess.run(["man", "--encoding=UTF-8", "-l", page], env=env, capture_output=True, check=True).stdout
    plain = subprocess.run(["col", "-bx"], input=out, capture_output=True, check=True).stdout
    return plain.decode("utf-8", "replace").splitlines()


def indent(line):
    return len(line) - len(line.lstrip(" "))


def convert(lines, title):
    # Drop the header (first non-blank line) and the footer (last non-blank line).
    body = [l.rstrip() for l in lines]
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    body = body[1:-1]
    out = [f"# {title}", ""]
    block = []

    def flush():
        if block:
            text = " ".join(re.sub(r"\s+", " ", b.strip()) for b in block)
            # Keep Markdown from reading option text as markup.
            text = text.replace("*", "\\*").replace("_", "\\_")
            if text.startswith(("#", ">", "+ ", "- ", "|")):
                text = "\\" + text
            out.extend([text, ""])
            block.clear()

    for line in body:
        if not line.strip():
            flush()
        elif indent(line) == 0:
            flush()
            out.extend([f"## {line.strip()}", ""])
        else:
            block.append(line)
    flush()
    return "\n".join(out).rstrip() + "\n"


def main():
    page, dest = sys.argv[1], sys.argv[2]
    name = os.path.basename(page)
    m = re.match(r"(.+)\.(\w+)\.gz$", name) or re.match(r"(.+)\.(\w+)$", name)
    title = f"{m.group(1)}({m.group(2)})" if m else name
    text = convert(render(page), title)
    with open(dest, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
