#!/usr/bin/env bash
# Build the bilingual evaluation corpus for `xref eval --pairs`: Debian's Simplified Chinese
# manual pages (package manpages-zh) and their English originals (packages coreutils and
# systemd), each page rendered to Markdown by man2md.py. Every zh/NAME.md is a translation
# of en/NAME.md, so the ground truth comes by construction, with no hand labels.
# A second argument picks another translation: de, fr, es (Debian's manpages-de/-fr/-es,
# from the manpages-l10n project) against the same English originals.
#
#   bash benches/parallel/fetch.sh [OUT] [LANG]   # default OUT: target/parallel, LANG: zh
#   xref eval --pairs target/parallel/zh target/parallel/en --index target/parallel/.xref
#
# Needs apt-get (download only, no install), dpkg-deb, man (man-db), groff and col.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-target/parallel}
lang=${2:-zh}
case "$lang" in
    zh) mandir=zh_CN ;;
    de | fr | es) mandir=$lang ;;
    *) echo "fetch.sh: no manual pages known for language '$lang' (zh, de, fr, es)" >&2; exit 2 ;;
esac
packages=("manpages-$lang" coreutils systemd)
for tool in apt-get dpkg-deb man groff col python3; do
    command -v "$tool" >/dev/null || { echo "fetch.sh: $tool is missing (Debian: apt-get install man-db groff-base bsdextrautils python3)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A stale package list names versions the mirror no longer has (404): refresh it, once.
if ! (cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>&1); then
    apt-get update -qq >/dev/null
    (cd "$work" && apt-get download "${packages[@]}" >/dev/null)
fi
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
mkdir -p "$out/$lang" "$out/en"
rm -f "$out/$lang"/*.md "$out"/en/*.md
n=0
for tr in "$work/root/usr/share/man/$mandir"/man*/*; do
    section=$(basename "$(dirname "$tr")")
    page=$(basename "$tr")
    en="$work/root/usr/share/man/$section/$page"
    [ -f "$en" ] || continue
    name=${page%.gz}
    python3 "$here/man2md.py" "$tr" "$out/$lang/$name.md"
    python3 "$here/man2md.py" "$en" "$out/en/$name.md"
    n=$((n + 1))
done
# Keep complete translations only: a page whose translation has 10 % more or fewer
# paragraphs than its English original is partly translated or translates another version.
kept=$(python3 - "$out" "$lang" <<'PY'
import os, sys
out, lang = sys.argv[1], sys.argv[2]
def paragraphs(path):
    return sum(1 for p in open(path, encoding="utf-8").read().split("\n\n") if p.strip() and not p.startswith("#"))
kept = 0
for name in sorted(os.listdir(f"{out}/{lang}")):
    tr, en = paragraphs(f"{out}/{lang}/{name}"), paragraphs(f"{out}/en/{name}")
    if 0.9 <= tr / max(en, 1) <= 1.1:
        kept += 1
    else:
        os.remove(f"{out}/{lang}/{name}")
        os.remove(f"{out}/en/{name}")
print(kept)
PY
)
(cd "$work" && ls *.deb) > "$out/PACKAGES"
echo "fetch.sh: $n page pairs rendered, $kept complete translations kept in $out/$lang and $out/en (from $(tr '\n' ' ' < "$out/PACKAGES"))"
