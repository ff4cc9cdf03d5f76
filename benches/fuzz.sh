#!/usr/bin/env bash
# Fuzz xref's parsers for a bounded time each: every input format (ingest), the E5S1 model
# container (e5s1), the index files' decoders (index_files) and opening an index damaged
# behind matching checksums (index_open). Not part of CI: run by hand, e.g.
#   bash benches/fuzz.sh 300        # 300 s per target (default 60)
# Needs the nightly toolchain (cargo fuzz builds with sanitizer instrumentation) and
# cargo-fuzz (installed from crates.io if missing). Crashes land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
per=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# A small real index for index_open (needs the model, fetched if absent).
tpl=target/fuzz-index
[ -f "$tpl/CURRENT" ] || cargo run --release --quiet -- index tests/parallel/zh --index "$tpl"
export XREF_FUZZ_INDEX="$PWD/$tpl"
# Seeds: real files of each format, the first byte picking the format (see ingest.rs).
mkdir -p fuzz/corpus/ingest fuzz/corpus/index_open
i=0
for f in tests/parallel/zh/*.md tests/parallel/en/*.md; do
    { printf '\001'; head -c 4000 "$f"; } > "fuzz/corpus/ingest/md-$i"; i=$((i + 1))
done
printf '\002<html><head><title>t &amp; u</title></head><body><nav>n</nav><h1>H</h1><p>P &hearts;</p></body></html>' > fuzz/corpus/ingest/html-0
{ printf '\000'; head -c 20000 seeds/*.txt; } > fuzz/corpus/ingest/txt-0
for t in ingest e5s1 index_files index_open; do
    mkdir -p "fuzz/corpus/$t"
    echo "fuzz: $t for ${per}s"
    cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- \
        -max_total_time="$per" -rss_limit_mb=4096 -timeout=20
done
