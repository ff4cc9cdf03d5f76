#!/usr/bin/env bash
# Embedding speed on a many-core CPU (#16): xref's int8, bf16 and f32 paths against ONNX Runtime f32 and int8,
# the same seeded random weights of multilingual-e5-small's shape for all (speed does not depend on the weights),
# whole-process wall time, at each thread count; then where xref's time goes per thread count, and each path's
# lowest cosine to xref's f32 vectors.
# Needs python3 with torch, transformers, onnxruntime, tokenizers, numpy (the project's GPU machine has them).
# usage: run.sh DIR [THREADS...]   DIR made by prepare.sh; THREADS default "2 <all cores>"; REP (copies of the
#        corpus, default 6) tunes the size, ROUNDS (default 2) the repeats. Adapted from the project's shared many-cores.sh.
set -u
D=$(cd "$1" && pwd); shift; THREADS=${*:-"2 $(nproc)"}; REP=${REP:-6}; ROUNDS=${ROUNDS:-2}; PY=${PY:-python3}
W=$(mktemp -d); mkdir -p "$W/m/1_Pooling"
cp "$D/tokenizer.json" "$D/config.json" "$W/m/"; cp "$D/1_Pooling/config.json" "$W/m/1_Pooling/"
$PY "$D/make_random_model.py" "$W/m" >/dev/null 2>&1 || { echo "random model failed"; exit 1; }
$PY "$D/export_onnx.py" "$W/m" "$W/onnx" >/dev/null 2>&1 || echo "onnx export failed"
for i in $(seq 1 "$REP"); do cat "$D/corpus.txt"; done > "$W/c.txt"
echo "cpu: $(lscpu | grep 'Model name' | sed 's/.*: *//'), $(nproc) cpus; $(grep -o -w -E 'avx512_bf16|amx_bf16|amx_int8|avx512_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "corpus: $(wc -l < "$W/c.txt") texts"
t() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>"$W/err" || { echo "FAILED: $(tail -2 "$W/err")"; return; }
      awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN{printf "%.2f", a-b}'; }
x() { RAYON_NUM_THREADS=$1 XREF_PRECISION=$2 t "$D/xref" embed --model "$W/m" --prefix none --input "$W/c.txt" --output "$W/x$2.jsonl"; }
o() { t $PY "$D/run_ort.py" "$W/onnx" "$W/c.txt" "$W/o$2.jsonl" --threads "$1" --onnx "$3"; }
for th in $THREADS; do
  for r in $(seq 1 "$ROUNDS"); do
    echo "threads $th round $r: xref int8 $(x "$th" int8) s; xref bf16 $(x "$th" bf16) s; xref f32 $(x "$th" f32) s;" \
      "ort f32 $(o "$th" f32 model.onnx) s; ort int8 $(o "$th" int8 model_int8.onnx) s"
  done
done
for th in $THREADS; do   # where xref's default path spends its time (XREF_PROFILE), per thread count
  echo "xref default path, $th threads:"
  RAYON_NUM_THREADS=$th XREF_PROFILE=1 "$D/xref" embed --model "$W/m" --prefix none --input "$W/c.txt" \
    --output /dev/null 2>&1 | grep '^profile'
done
$PY - "$W" <<'PY'
import json, sys, numpy as np
w = sys.argv[1]
def xref(p): return np.array([json.loads(l)["embedding"] for l in open(f"{w}/{p}")], np.float32)
def ort(p): return np.array([json.loads(l) for l in open(f"{w}/{p}")], np.float32)
f = xref("xf32.jsonl")
for name, v in [("xref int8", xref("xint8.jsonl")), ("xref bf16", xref("xbf16.jsonl")),
                ("ort f32", ort("of32.jsonl")), ("ort int8", ort("oint8.jsonl"))]:
    c = (v * f).sum(1) / np.linalg.norm(v, axis=1) / np.linalg.norm(f, axis=1)
    print(f"lowest cosine to xref f32: {name} {c.min():.6f} (median {np.median(c):.6f})")
PY
rm -rf "$W"
