#!/usr/bin/env bash
# Book-length PDFs with a twin in markup (the same book as HTML, from the same package or
# its sibling), from Debian's packages, unpacked into DIR/pdf/BOOK.pdf and DIR/html/BOOK/:
#   debian-reference.{en,zh-cn,ja,fr,de}  DocBook through dblatex, outline; 250-280 pages
#   developers-reference.{en,de,ja}       Sphinx through LaTeX, outline
#   policy.en                              Sphinx through LaTeX (Debian Policy), outline
#   R-{intro,lang,admin}.en                Texinfo through TeX, outline
#   arm2012.en                             Ada 2012 Reference Manual, 1,918 pages, no outline
# Usage: bash benches/books/fetch.sh [DIR]   (default target/books)
set -euo pipefail
dir=${1:-target/books}
mkdir -p "$dir/debs" "$dir/x" "$dir/pdf" "$dir/html"
cd "$dir/debs"
pkgs=(debian-reference-en debian-reference-zh-cn debian-reference-ja debian-reference-fr
      debian-reference-de developers-reference developers-reference-de developers-reference-ja
      debian-policy r-doc-pdf r-doc-html ada-reference-manual-2012)
missing=()
for p in "${pkgs[@]}"; do ls "${p}"_*.deb >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get download "${missing[@]}" 2>/dev/null || { apt-get update -qq && apt-get download "${missing[@]}"; }
fi
for p in "${pkgs[@]}"; do dpkg -x "$(ls "${p}"_*.deb | head -1)" ../x; done
cd ..
twin() { # BOOK PDF HTML-FILES...
    local book=$1 pdf=$2; shift 2
    case "$pdf" in *.gz) zcat "$pdf" > "pdf/$book.pdf" ;; *) cp "$pdf" "pdf/$book.pdf" ;; esac
    rm -rf "html/$book"; mkdir -p "html/$book"; cp "$@" "html/$book/"
}
ref=x/usr/share/debian-reference
for l in en zh-cn ja fr de; do twin "debian-reference.$l" "$ref/debian-reference.$l.pdf" "$ref"/*."$l".html; done
dev=x/usr/share/developers-reference
twin developers-reference.en "$dev/developers-reference.pdf" "$dev/developers-reference.html"
for l in de ja; do twin "developers-reference.$l" "$dev/$l/developers-reference.pdf" "$dev/$l/developers-reference.html"; done
pol=x/usr/share/doc/debian-policy
twin policy.en "$pol/policy.pdf.gz" "$pol"/policy.html/ch-*.html "$pol"/policy.html/ap-*.html "$pol"/policy.html/index.html
r=x/usr/share/R/doc/manual
for m in intro lang admin; do twin "R-$m.en" "$r/R-$m.pdf" "$r/R-$m.html"; done
ada=x/usr/share/doc/ada-reference-manual-2012
twin arm2012.en "$ada/arm2012.pdf.gz" "$ada"/arm2012.html/*.html
ls -la pdf
