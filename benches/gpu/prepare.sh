#!/usr/bin/env bash
# Assemble what benches/gpu/run.sh needs on the GPU machine (no Rust, no registry, at most
# 64 MiB carried): xref (xz) built with `--features cuda` and linked against CUDA 13, the
# tokenizer (gzip) and config files of multilingual-e5-small, the seed's paragraphs one per
# line, and the script that writes random weights of the model's shape there.
#
#     bash benches/gpu/prepare.sh [DIR]          # default target/gpu-run (~14 MB)
#
# Linking needs what the binary loads by soname on the GPU machine (libcuda, libcublas,
# libcublasLt, libcurand, libnvrtc): NVIDIA's CUDA 13.0 wheels from PyPI give all but
# libcuda, which comes with the driver; the link uses a stub of it written here from the
# driver functions cudarc declares. Takes 15-25 min on 2 cores (candle's kernels to PTX).
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${1:-target/gpu-run}
CUDA_DIR=${CUDA_DIR:-target/cuda-toolkit}
if [ ! -f "$CUDA_DIR/nvidia/cu13/lib/libcublas.so.13" ] || [ ! -x "$CUDA_DIR/nvidia/cu13/bin/nvcc" ]; then
  mkdir -p "$CUDA_DIR/wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$CUDA_DIR/wheels" \
    "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-crt==13.0.*" \
    "nvidia-cuda-cccl==13.0.*" "nvidia-nvvm==13.0.*" "nvidia-cublas==13.0.*" \
    "nvidia-curand==10.4.0.*" "nvidia-cuda-nvrtc==13.0.*"
  for w in "$CUDA_DIR"/wheels/*.whl; do python3 -m zipfile -e "$w" "$CUDA_DIR"; done
  chmod +x "$CUDA_DIR"/nvidia/cu13/bin/* "$CUDA_DIR"/nvidia/cu13/nvvm/bin/* || true
fi
root=$(cd "$CUDA_DIR/nvidia/cu13" && pwd)
# Link names for the wheels' sonames, and a libcuda stub (SONAME libcuda.so.1) exporting
# every driver function cudarc declares.
mkdir -p "$root/lib/stubs"
for l in cublas cublasLt nvrtc cudart; do ln -sf "lib$l.so.13" "$root/lib/lib$l.so"; done
ln -sf libcurand.so.10 "$root/lib/libcurand.so"
sys=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.*/src/driver/sys/mod.rs 2>/dev/null | tail -1)
if [ -z "$sys" ]; then cargo fetch --quiet; sys=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.*/src/driver/sys/mod.rs | tail -1); fi
grep -o 'pub unsafe fn cu[A-Za-z0-9_]*(' "$sys" | sed 's/pub unsafe fn \(.*\)(/void \1(void) {}/' | sort -u \
  > "$root/lib/stubs/cuda_stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$root/lib/stubs/libcuda.so" "$root/lib/stubs/cuda_stub.c"
export PATH="$root/bin:$PATH" CUDA_ROOT="$root" CUDA_PATH="$root" CUDA_HOME="$root"
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
nvcc --version | tail -2
cargo build --release --features cuda --bin xref --target-dir target/cuda-build
cargo build --release --bin xref   # the CPU build lists the paragraphs (the CUDA one needs libcuda to start)
M=$(./target/release/xref model info 2>/dev/null | sed -n 's/^directory: //p')
[ -f "$M/tokenizer.json" ] || { echo "no model (xref model fetch)" >&2; exit 1; }
rm -rf "$D"; mkdir -p "$D/1_Pooling"
strip -o "$D/xref" target/cuda-build/release/xref
readelf -d "$D/xref" | grep NEEDED | sed 's/.*\[\(.*\)\]/  \1/' > "$D/needed.txt"
xz -T2 -6 -f "$D/xref"   # 66 MB -> ~9 MB (candle's kernels compress well)
gzip -9 -c "$M/tokenizer.json" > "$D/tokenizer.json.gz"
cp "$M/config.json" "$D/"; cp "$M/1_Pooling/config.json" "$D/1_Pooling/"
cp benches/many-cores/make_random_model.py benches/gpu/run.sh "$D/"
./target/release/xref paragraphs seeds/ --json | python3 -c '
import sys, json
for l in sys.stdin:
    t = json.loads(l)["text"].replace("\n", " ").strip()
    if t: print(t)' > "$D/corpus.txt"
echo "$D: $(du -sh "$D" | cut -f1), $(wc -l < "$D/corpus.txt") texts; libraries the binary loads:"
cat "$D/needed.txt"
