#!/usr/bin/env bash
# Build check of the GPU path on a machine without a GPU: fetch NVIDIA's CUDA 13 compiler
# (nvcc with its nvvm back end), runtime and C++ headers from PyPI (no system CUDA needed), then compile xref with
# `--features cuda` (candle's CUDA kernels are compiled to PTX for compute capability
# CUDA_COMPUTE_CAP, 90 = Hopper, H100/H200).
#
#     bash benches/gpu/check.sh            # cargo check --features cuda
#
# It checks that the CUDA code path compiles; it does not link or run it (that needs the
# driver's libcuda and cuBLAS on a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
CUDA_DIR=${CUDA_DIR:-target/cuda-toolkit}
if [ ! -x "$CUDA_DIR/nvidia/cu13/bin/nvcc" ]; then
  mkdir -p "$CUDA_DIR/wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$CUDA_DIR/wheels" \
    "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-runtime==13.0.*" \
    "nvidia-cuda-crt==13.0.*" "nvidia-cuda-cccl==13.0.*" "nvidia-nvvm==13.0.*"
  for w in "$CUDA_DIR"/wheels/*.whl; do python3 -m zipfile -e "$w" "$CUDA_DIR"; done
  chmod +x "$CUDA_DIR"/nvidia/cu13/bin/* "$CUDA_DIR"/nvidia/cu13/nvvm/bin/* || true
fi
root=$(cd "$CUDA_DIR/nvidia/cu13" && pwd)
export PATH="$root/bin:$PATH" CUDA_ROOT="$root" CUDA_PATH="$root" CUDA_HOME="$root"
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
nvcc --version | tail -2
cargo check --release --features cuda --target-dir target/cuda-check "$@"
