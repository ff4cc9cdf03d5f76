#!/usr/bin/env bash
# Tagged PDFs from another producer than Chromium: LibreOffice turns the R manuals' HTML
# (from `bash benches/books/fetch.sh target/books`) into tagged PDFs without bookmarks, and
# the same PDFs are scored with and without their structure tree (`/StructTreeRoot`
# removed by pypdf), against the HTML, by benches/books/score.py.
#
#   bash benches/books/tagged.sh [XREF_BINARY] [BOOKS_DIR] [OUT_DIR]
#
# Needs LibreOffice (`apt-get install libreoffice-writer-nogui`) and pypdf.
set -euo pipefail
cd "$(dirname "$0")/../.."
xref=${1:-target/release/xref}
books=${2:-target/books}
out=${3:-target/books-tagged}
books=$(realpath "$books")
rm -rf "$out"
mkdir -p "$out/html-in" "$out/tagged/pdf" "$out/tagged/html" "$out/untagged/pdf" "$out/untagged/html"
filter='pdf:writer_web_pdf_Export:{"UseTaggedPDF":{"type":"boolean","value":"true"},"ExportBookmarks":{"type":"boolean","value":"false"}}'
for b in R-intro R-lang R-admin; do
    cp "$books/html/$b.en/$b.html" "$out/html-in/$b.html"
    soffice --headless --convert-to "$filter" --outdir "$out/html-in" "$out/html-in/$b.html" >/dev/null 2>&1
    cp "$out/html-in/$b.pdf" "$out/tagged/pdf/$b.en.pdf"
    python3 - "$out/tagged/pdf/$b.en.pdf" "$out/untagged/pdf/$b.en.pdf" <<'PY'
import sys, pypdf
w = pypdf.PdfWriter(clone_from=pypdf.PdfReader(sys.argv[1]))
del w._root_object["/StructTreeRoot"]
w.write(sys.argv[2])
PY
    ln -sfn "$books/html/$b.en" "$out/tagged/html/$b.en"
    ln -sfn "$books/html/$b.en" "$out/untagged/html/$b.en"
done
echo "tagged:"
python3 benches/books/score.py "$xref" "$out/tagged"
echo "the same PDFs without their structure tree:"
python3 benches/books/score.py "$xref" "$out/untagged"
