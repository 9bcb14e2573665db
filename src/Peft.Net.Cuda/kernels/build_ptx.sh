#!/usr/bin/env bash
# Regenerates the committed PTX of the CUDA kernels: every kernels/*.cu for every architecture in ARCHS, written as
# kernels/ptx/<name>.compute_<arch>.ptx and embedded in Peft.Net.Cuda.dll (EmbeddedResource). The driver JIT-compiles
# the PTX for the actual GPU, so users need only the NVIDIA driver.
#   usage: build_ptx.sh [OUTPUT_DIR]     default: kernels/ptx next to this script
# Deterministic: fixed flags, no line info / debug info (no paths in the output), sources given by relative name.
# IEEE float32 semantics: no --use_fast_math (keeps denormals and exact rounding); -fmad=false on top of the explicit
# __fmul_rn/__fadd_rn/__fmaf_rn in the bodies.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/ptx}"
ARCHS=(70 80 90)
NVCC="${NVCC:-nvcc}"
if ! command -v "$NVCC" >/dev/null 2>&1; then
    echo "build_ptx.sh: nvcc not found (install the CUDA toolkit, e.g. apt-get install nvidia-cuda-toolkit, or set NVCC)" >&2
    exit 127
fi
# nvcc needs a host compiler it supports for preprocessing; CUDA 11.8 rejects g++ 12, Debian pairs it with clang-14.
ccbin=()
if [[ -n "${NVCC_CCBIN:-}" ]]; then
    ccbin=(-ccbin "$NVCC_CCBIN")
elif command -v clang-14 >/dev/null 2>&1; then
    ccbin=(-ccbin clang-14)
fi
mkdir -p "$out"
cd "$here"
for src in *.cu; do
    name="${src%.cu}"
    for arch in "${ARCHS[@]}"; do
        "$NVCC" "${ccbin[@]}" -ptx -std=c++17 -O3 -fmad=false -arch="compute_$arch" "$src" -o "$out/$name.compute_$arch.ptx"
    done
done
ls "$out"/*.ptx
