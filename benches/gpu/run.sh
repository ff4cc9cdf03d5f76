#!/usr/bin/env bash
# GPU embedding throughput and parity (#14), on a machine with an NVIDIA GPU, its driver, and
# a Python with PyTorch, transformers and NVIDIA's CUDA 13 pip libraries (the project's GPU
# machine), no Rust: random weights of multilingual-e5-small's shape are written there
# (speed does not depend on the weights; the f32 safetensors cannot travel), then
#  1. parity: the seed's paragraphs on the GPU (bf16, f32) against the same binary's exact
#     CPU path (f32), lowest and median cosine;
#  2. throughput: the seed repeated to >= 1M tokens, then 4x that, bf16 and f32 on the GPU;
#     tokens/s of the embedding call (model loading excluded, printed apart), and the
#     marginal rate between the two sizes (start-up costs cancel).
# usage: bash run.sh DIR     DIR made by benches/gpu/prepare.sh
#        (GPU=cpu MIN_TOKENS=20000 PY=... checks the script itself on a machine without a GPU)
set -u
D=$(cd "$1" && pwd); PY=${PY:-python3}; GPU=${GPU:-cuda}; MIN=${MIN_TOKENS:-1000000}
W=$(mktemp -d); mkdir -p "$W/m/1_Pooling"
gunzip -c "$D/tokenizer.json.gz" > "$W/m/tokenizer.json"
cp "$D/config.json" "$W/m/"; cp "$D/1_Pooling/config.json" "$W/m/1_Pooling/"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
# The CUDA libraries xref loads by soname, from the Python's NVIDIA pip packages.
LIBS=$($PY - <<'PY'
import glob, os
try:
    import nvidia
    bases = list(nvidia.__path__)
except Exception:
    bases = []
dirs = sorted({os.path.dirname(p) for b in bases for p in glob.glob(b + "/**/lib*.so*", recursive=True)})
print(":".join(dirs))
PY
)
export LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
X="$W/xref"
$PY -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$D/xref.xz" "$X" && chmod +x "$X"
if ! "$X" --version >/dev/null 2>"$W/err"; then
  echo "xref does not start: $(head -3 "$W/err")"; ldd "$X" | grep -i "not found"; ldd --version | head -1; exit 1
fi
$PY "$D/make_random_model.py" "$W/m" >/dev/null 2>"$W/err" || { echo "random model failed: $(tail -2 "$W/err")"; exit 1; }
e() { # device precision input output -> "embed seconds" (profile line), or FAILED
  XREF_PROFILE=1 "$X" embed --model "$W/m" --device "$1" --precision "$2" --prefix none \
    --input "$3" --output "$4" 2>"$W/err" || { echo "FAILED: $(grep -v '^profile' "$W/err" | tail -3)"; return 1; }
  sed -n 's/^profile: load model \([0-9.]*\) s, embed \([0-9.]*\) s.*/load \1 s, embed \2 s/p' "$W/err"
}
echo "1. parity on the seed's $(wc -l < "$D/corpus.txt") paragraphs"
echo "   cpu f32:  $(e cpu f32 "$D/corpus.txt" "$W/cpu.jsonl")"
echo "   $GPU bf16: $(e "$GPU" bf16 "$D/corpus.txt" "$W/bf16.jsonl")"
echo "   $GPU f32: $(e "$GPU" f32 "$D/corpus.txt" "$W/f32.jsonl")"
$PY - "$W" "$GPU" <<'PY'
import json, sys, numpy as np
w, gpu = sys.argv[1], sys.argv[2]
def load(p):
    rows = [json.loads(l) for l in open(f"{w}/{p}")]
    return np.array([r["embedding"] for r in rows], np.float64), sum(r["tokens"] for r in rows)
cpu, tokens = load("cpu.jsonl")
open(f"{w}/tokens", "w").write(str(tokens))
for name in ["bf16", "f32"]:
    try:
        v, _ = load(f"{name}.jsonl")
    except Exception as err:
        print(f"   {gpu} {name}: no vectors ({err})"); continue
    c = (v * cpu).sum(1) / np.linalg.norm(v, axis=1) / np.linalg.norm(cpu, axis=1)
    print(f"   {gpu} {name} against cpu f32: lowest cosine {c.min():.6f}, median {np.median(c):.6f} ({len(c)} texts, {tokens} tokens)")
PY
T=$(cat "$W/tokens" 2>/dev/null || echo 0)
[ "$T" -gt 0 ] || { echo "no token count"; exit 1; }
R=$(( (MIN + T - 1) / T ))
for i in $(seq 1 "$R"); do cat "$D/corpus.txt"; done > "$W/c1.txt"
for i in 1 2 3 4; do cat "$W/c1.txt"; done > "$W/c4.txt"
echo "2. throughput: the seed x$R ($((R * T)) tokens) and x$((4 * R)) ($((4 * R * T)) tokens)"
for p in bf16 f32; do
  a=$(e "$GPU" "$p" "$W/c1.txt" /dev/null) && b=$(e "$GPU" "$p" "$W/c4.txt" /dev/null) || { echo "   $p: $a $b"; continue; }
  awk -v g="$GPU" -v p="$p" -v t="$((R * T))" -v a="$a" -v b="$b" 'BEGIN {
    split(a, x, " "); split(b, y, " ");
    printf "   %s %s: 1x %s s (%.0f tokens/s), 4x %s s (%.0f tokens/s), marginal %.0f tokens/s; model load %s s\n",
      g, p, x[5], t / x[5], y[5], 4 * t / y[5], 3 * t / (y[5] - x[5]), x[2] }'
done
rm -rf "$W"
