#!/usr/bin/env bash
# Large inputs for the PDF and HTML readers: a 5,000-page book printed by Chromium (with
# bookmarks: 5,000 outline entries) and a table of 10,000 rows (as HTML, and printed to
# PDF). Prints each file's size, passages and documents, and `xref paragraphs`' wall time
# and peak memory.
#
#   bash benches/books/large.sh [XREF_BINARY] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
xref=${1:-target/release/xref}
out=${2:-target/books/large}
mkdir -p "$out"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --no-pdf-header-footer)
python3 - "$out" <<'PY'
import sys, random
out = sys.argv[1]
random.seed(5)
words = ("river water stone valley current delta basin flood season channel bank sediment "
         "meander estuary tributary source mouth rain snow glacier lake wetland fish bird "
         "forest soil erosion bridge town mill boat").split()
def sentence():
    s = [random.choice(words) for _ in range(8 + random.randrange(9))]
    return " ".join(s).capitalize() + "."
with open(f"{out}/book5000.html", "w") as f:
    f.write("<!doctype html><meta charset=utf-8><title>Five thousand pages</title>"
            "<style>body{font:11pt serif} h2{font-size:15pt} section{break-after:page}</style>\n")
    for p in range(1, 5001):
        f.write(f"<section><h2>{p}. On {random.choice(words)} and {random.choice(words)}</h2>")
        for _ in range(3):
            f.write("<p>" + " ".join(sentence() for _ in range(3)) + "</p>")
        f.write("</section>\n")
with open(f"{out}/table10000.html", "w") as f:
    f.write("<!doctype html><meta charset=utf-8><title>Ten thousand rows</title>"
            "<style>body{font:10pt sans-serif} td{padding:1px 8px}</style>"
            "<h1>Ten thousand rows</h1><p>The rivers of the survey, one row each, with their "
            "length and the sea they reach.</p><table><tr><th>River</th><th>Length km</th>"
            "<th>Mouth</th></tr>\n")
    for r in range(10000):
        f.write(f"<tr><td>{random.choice(words)} river {r}</td><td>{100 + random.randrange(6000)}"
                f"</td><td>{random.choice(words)} sea</td></tr>\n")
    f.write("</table>\n")
PY
print() { # html pdf [extra flags]
    local profile
    profile=$(mktemp -d)
    /usr/bin/time -f "chromium printed $2 in %e s" chromium "${flags[@]}" "${@:3}" \
        --user-data-dir="$profile" --print-to-pdf="$2" "file://$(realpath "$1")" 2>&1 \
        | grep -v -i "dbus\|gpu\|sandbox\|^\[" || true
    rm -rf "$profile"
}
[ -s "$out/book5000.pdf" ] || print "$out/book5000.html" "$out/book5000.pdf" --generate-pdf-document-outline
[ -s "$out/table10000.pdf" ] || print "$out/table10000.html" "$out/table10000.pdf"
for f in "$out/book5000.pdf" "$out/table10000.pdf" "$out/table10000.html"; do
    stats=$( { /usr/bin/time -f "%e %M" "$xref" paragraphs "$f" --json > "$out/paragraphs.jsonl"; } 2>&1 | tail -1)
    python3 - "$f" "$out/paragraphs.jsonl" $stats <<'PY'
import json, os, sys, collections
f, listing, secs, kb = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
rows = [json.loads(l) for l in open(listing) if l.strip()]
kinds = collections.Counter(r.get("kind", "prose") for r in rows)
print(json.dumps({"file": os.path.basename(f), "mb": round(os.path.getsize(f) / 1e6, 2),
                  "passages": len(rows), "documents": len({r["doc_id"] for r in rows}),
                  "kinds": dict(kinds), "seconds": secs, "peak_mb": round(kb / 1024)}))
PY
done
