#!/usr/bin/env bash
# Builds the host emulation of the CUDA kernels: g++ compiles dequant4.cu and gemv4.cu (through dequant_host.cpp and
# cuda_host_shim.h) into an executable that runs every thread index on the CPU.
#   usage: build_host.sh [OUTPUT]     default OUTPUT: <repo>/artifacts/cuda-host/dequant_host
# Uses $CXX (default g++). AddressSanitizer + UBSan are on when the toolchain has them (they catch any read past a
# buffer end in the tail handling); set PN_HOST_SANITIZE=0 to build without.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
out="${1:-$repo/artifacts/cuda-host/dequant_host}"
cxx="${CXX:-g++}"
if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "build_host.sh: C++ compiler '$cxx' not found (install g++ or set CXX)" >&2
    exit 127
fi
mkdir -p "$(dirname "$out")"
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
"$cxx" "${flags[@]}" "${sanitize[@]}" "$here/dequant_host.cpp" -o "$out.tmp$$"
mv -f "$out.tmp$$" "$out"
echo "$out"
