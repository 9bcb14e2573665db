#!/usr/bin/env bash
# Builds the host emulation of the CUDA kernels: g++ compiles dequant4.cu and gemv4.cu (through cuda_host_shim.h) into
#   OUT_DIR/dequant_host           runs every thread index of the kernels on the CPU over case files
#                                  (AddressSanitizer + UBSan when the toolchain has them: any read or write past a
#                                  buffer end fails; set PN_HOST_SANITIZE=0 to build without)
#   OUT_DIR/libpeft_fake_cuda.so   a fake libcuda.so.1 running the same kernels, for end-to-end tests of the C# runtime
#   usage: build_host.sh [OUT_DIR]     default OUT_DIR: <repo>/artifacts/cuda-host
# Uses $CXX (default g++).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
outdir="${1:-$repo/artifacts/cuda-host}"
cxx="${CXX:-g++}"
if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "build_host.sh: C++ compiler '$cxx' not found (install g++ or set CXX)" >&2
    exit 127
fi
mkdir -p "$outdir"
# IEEE float32 exactly as written: no FMA contraction, no fast-math, no x87.
flags=(-std=c++17 -O2 -ffp-contract=off -fno-fast-math -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas)
sanitize=()
if [[ "${PN_HOST_SANITIZE:-1}" != "0" ]]; then
    probe="$(mktemp -d)"
    trap 'rm -rf "$probe"' EXIT
    echo 'int main(){return 0;}' > "$probe/p.cpp"
    if "$cxx" -fsanitize=address,undefined "$probe/p.cpp" -o "$probe/p" >/dev/null 2>&1 && "$probe/p"; then
        sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    else
        echo "build_host.sh: note: $cxx has no AddressSanitizer here; building without it" >&2
    fi
fi
"$cxx" "${flags[@]}" "${sanitize[@]}" "$here/dequant_host.cpp" -o "$outdir/dequant_host.tmp$$"
mv -f "$outdir/dequant_host.tmp$$" "$outdir/dequant_host"
# Loaded into the .NET test process: no sanitizer runtime there; -Bsymbolic so a real libcuda in the same process
# can never interpose on the fake's own calls.
"$cxx" "${flags[@]}" -fPIC -shared -Wl,-Bsymbolic "$here/fake_cuda_driver.cpp" -o "$outdir/libpeft_fake_cuda.so.tmp$$"
mv -f "$outdir/libpeft_fake_cuda.so.tmp$$" "$outdir/libpeft_fake_cuda.so"
echo "$outdir/dequant_host"
echo "$outdir/libpeft_fake_cuda.so"
