#!/usr/bin/env bash
# Assemble what benches/many-cores/run.sh needs on a machine without Rust or a registry (about 40 MB):
# the release binary, the tokenizer and config files of multilingual-e5-small, the seed's paragraphs one
# per line, and the Python scripts that write random weights and run ONNX Runtime.
# usage: bash benches/many-cores/prepare.sh [DIR]   (default target/many-cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${1:-target/many-cores}
cargo build --release --bin xref
M=$(./target/release/xref model info 2>/dev/null | sed -n 's/^directory: //p')
[ -f "$M/tokenizer.json" ] || { echo "no model (xref model fetch)" >&2; exit 1; }
rm -rf "$D"; mkdir -p "$D/1_Pooling"
cp target/release/xref "$D/"
cp "$M/tokenizer.json" "$M/config.json" "$D/"; cp "$M/1_Pooling/config.json" "$D/1_Pooling/"
cp benches/many-cores/*.py benches/many-cores/run.sh "$D/"
./target/release/xref paragraphs seeds/ --json | python3 -c '
import sys, json
for l in sys.stdin:
    t = json.loads(l)["text"].replace("\n", " ").strip()
    if t: print(t)' > "$D/corpus.txt"
echo "$D: $(du -sh "$D" | cut -f1), $(wc -l < "$D/corpus.txt") texts"
