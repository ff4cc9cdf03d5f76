#!/usr/bin/env bash
# The scale benchmark's corpus: the Python 3.11 and PostgreSQL 15 manuals as Debian ships
# them (python3.11-doc, postgresql-doc-15: HTML, public documentation licences), about
# 120,000 paragraphs of real English technical text. Generated pages (indexes, tables of
# contents, reST sources) are left out.
#
#     bash benches/scale/fetch.sh target/scale     # then: cargo bench --bench scale
set -euo pipefail
out="${1:-target/scale}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [ -d "$out/corpus" ]; then
  echo "scale corpus already in $out/corpus"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download python3.11-doc postgresql-doc-15 >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  apt-get download python3.11-doc postgresql-doc-15 >/dev/null
fi
for deb in *.deb; do dpkg-deb -x "$deb" x; done
mkdir -p corpus
cp -r x/usr/share/doc/python3.11/html corpus/python
cp -r x/usr/share/doc/postgresql-doc-15/html corpus/postgresql
rm -rf corpus/python/_sources
find corpus -type f ! -name '*.html' -delete
find corpus -type d -empty -delete
find corpus \( -name 'genindex*' -o -name 'contents.html' -o -name 'py-modindex.html' \
  -o -name 'search.html' -o -name 'bookindex.html' \) -delete
mv corpus "$out/corpus"
echo "scale corpus: $(find "$out/corpus" -name '*.html' | wc -l) HTML files in $out/corpus"
