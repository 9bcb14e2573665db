#!/usr/bin/env bash
# CI check for the committed PTX:
#   1. regenerates it into a temporary directory (build_ptx.sh) and fails when it differs from kernels/ptx (stale);
#   2. assembles every PTX file with ptxas for its own architecture and for sm_90 (what the driver's JIT does), and
#      fails when ptxas rejects one.
# Needs the CUDA toolkit (nvcc, ptxas); no GPU.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
committed="$here/ptx"
PTXAS="${PTXAS:-ptxas}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0

"$here/build_ptx.sh" "$tmp/ptx" >/dev/null
if ! diff -r "$committed" "$tmp/ptx" >"$tmp/diff.txt"; then
    echo "check_ptx.sh: committed PTX is stale; run src/Peft.Net.Cuda/kernels/build_ptx.sh and commit kernels/ptx" >&2
    have="$(grep -m1 'Cuda compilation tools' "$committed"/*.ptx 2>/dev/null | head -1 | sed 's/.*Cuda/Cuda/')"
    now="$(grep -m1 'Cuda compilation tools' "$tmp"/ptx/*.ptx | head -1 | sed 's/.*Cuda/Cuda/')"
    [[ "$have" != "$now" ]] && echo "check_ptx.sh: note: committed PTX was made by '$have', this nvcc is '$now'" >&2
    head -40 "$tmp/diff.txt" >&2
    fail=1
else
    echo "check_ptx.sh: committed PTX equals regenerated PTX ($(ls "$committed"/*.ptx | wc -l) files)"
fi

for ptx in "$committed"/*.ptx; do
    arch="${ptx##*.compute_}"
    arch="${arch%.ptx}"
    for sm in $(printf "%s\n" "sm_$arch" sm_90 | sort -u); do
        if "$PTXAS" -arch="$sm" "$ptx" -o "$tmp/out.cubin" 2>"$tmp/ptxas.txt"; then
            echo "check_ptx.sh: ptxas -arch=$sm accepts $(basename "$ptx")"
        else
            echo "check_ptx.sh: ptxas -arch=$sm REJECTS $(basename "$ptx"):" >&2
            cat "$tmp/ptxas.txt" >&2
            fail=1
        fi
    done
done
exit $fail
