#!/usr/bin/env bash
# The engine's float32 GEMM against LibTorch 2.10's through TorchSharp (benchmarks/TorchSharpPeer --mode gemm: c.addmm_
# in place, MKL) — and against PyTorch 1.13 + OpenBLAS (gemm_peer.py) when Debian's python3-torch is installed — at
# 1024³ and at every GEMM shape of one `peft bench train` step (default shape: dim 512, 4 layers, 8 heads of 64, FFN 1376,
# vocabulary 4096, 4 × 256 = 1024 tokens, rank 8). ROUNDS rounds; in each, every shape runs on every side, one process
# each, the side that starts alternating between rounds. Each run reports its best GFLOP/s over ≈ 2 s of repeats (the
# least disturbed one); the summary gives, per shape, the median over the rounds of those, and ours / TorchSharp
# (and ours / PyTorch). Goals (issue 17): ≥ 1.3 at 1024³, ≥ 1.0 at every step shape.
#
# Usage: benchmarks/peers/torchsharp_gemm_ratio.sh [--rounds 3] [--threads 2] [--only ROLE[,ROLE…]] [--repeats N]
#   --only    run only the named rows (e.g. --only square,lm-head-fwd)
#   --repeats fixed timed runs per process instead of ≈ 2 s of them
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3 THREADS=2 ONLY="" REPEATS=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    *) echo "torchsharp_gemm_ratio.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
# role  m  n  k  flags — C[m, n] = op(A)[m, k]·op(B)[k, n]; --trans-b: B stored (n, k) (x·Wᵀ of a linear layer),
# --trans-a: A stored (k, m) (a weight gradient). M = 1024 tokens; attention works per (sequence, head): 32 × (256, 64).
shapes=(
  "square            1024 1024 1024"
  # forward
  "attn-proj-fwd     1024  512  512 --trans-b"   # q, k, v, o_proj: x·Wᵀ
  "mlp-up-fwd        1024 1376  512 --trans-b"   # gate_proj, up_proj
  "mlp-down-fwd      1024  512 1376 --trans-b"   # down_proj
  "lm-head-fwd       1024 4096  512 --trans-b"   # head (the fused loss runs it in row chunks)
  "lora-A-fwd        1024    8  512 --trans-b"   # x·Aᵀ, A [8, 512]: q, k, v, o, gate, up
  "lora-A-fwd-down   1024    8 1376 --trans-b"   # x·Aᵀ, A [8, 1376]: down_proj
  "lora-B-fwd        1024  512    8 --trans-b"   # u·Bᵀ, B [512, 8]: q, k, v, o, down
  "lora-B-fwd-up     1024 1376    8 --trans-b"   # u·Bᵀ, B [1376, 8]: gate, up
  "attn-scores        256  256   64 --trans-b"   # Q·Kᵀ per head
  "attn-values        256   64  256"             # P·V per head
  # backward (frozen base: dX only)
  "attn-proj-dx      1024  512  512"             # dY·W
  "mlp-up-dx         1024  512 1376"             # dY [1024, 1376]·W [1376, 512]
  "mlp-down-dx       1024 1376  512"             # dY [1024, 512]·W [512, 1376]
  "lm-head-dx        1024  512 4096"             # dLogits·W_head
  "lora-dU           1024    8  512"             # dY·B, B [512, 8]
  "lora-dU-up        1024    8 1376"             # dY·B, B [1376, 8]
  "lora-dx           1024  512    8"             # dU·A, A [8, 512]
  "lora-dx-down      1024 1376    8"             # dU·A, A [8, 1376]
  "lora-dB            512    8 1024 --trans-a"   # dYᵀ·U
  "lora-dB-up        1376    8 1024 --trans-a"
  "lora-dA              8  512 1024 --trans-a"   # dUᵀ·X
  "lora-dA-down         8 1376 1024 --trans-a"
  "attn-dP            256  256   64 --trans-b"   # dO·Vᵀ
  "attn-dV            256   64  256 --trans-a"   # Pᵀ·dO (dK = dSᵀ·Q: the same shape)
  "attn-dQ            256   64  256"             # dS·K
)
export PEFT_NUM_THREADS=$THREADS
source benchmarks/peers/torchsharp_setup.sh
PYTORCH=no
/usr/bin/python3 -c 'import torch' 2>/dev/null && PYTORCH=yes
print_machine "$PEFT" "$THREADS"
if [[ $PYTORCH == yes ]]; then
  # Debian's torch 1.13 multiplies through whatever libblas.so.3 the alternatives name: OpenBLAS only when
  # libopenblas0-pthread is installed, else the unoptimised reference BLAS (a few GFLOP/s: no peer at all).
  blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
  echo "PyTorch's BLAS: $blas$([[ $blas == *openblas* ]] || echo '  — NOT OpenBLAS: the PyTorch column measures the reference BLAS (apt-get install libopenblas0-pthread)')"
fi
echo "sides: engine (peft bench gemm), TorchSharp $(sed -nE 's/.*Include="TorchSharp" Version="([^"]+)".*/\1/p' Directory.Packages.props) / LibTorch $(sed -nE 's/.*Include="libtorch-cpu-linux-x64" Version="([^"]+)".*/\1/p' Directory.Packages.props)$([[ $PYTORCH == yes ]] && echo ", PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (gemm_peer.py)" || echo "; PyTorch column left out: /usr/bin/python3 has no torch (apt-get install python3-torch)")"
gflops() { sed -E 's/.*"gflops": ?([0-9.eE+-]+).*/\1/'; }
repeats=(); [[ $REPEATS != 0 ]] && repeats=(--repeats "$REPEATS")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for ((round = 1; round <= ROUNDS; round++)); do
  sides=(engine torchsharp); [[ $PYTORCH == yes ]] && sides+=(pytorch)
  ((round % 2 == 0)) && sides=($(printf '%s\n' "${sides[@]}" | tac))
  for line in "${shapes[@]}"; do
    read -r role m n k flags <<<"$line"
    [[ -n $ONLY && ",$ONLY," != *",$role,"* ]] && continue
    shape=(--m "$m" --n "$n" --k "$k" --threads "$THREADS" ${flags:-} "${repeats[@]+"${repeats[@]}"}")
    out="round $round $(printf '%-16s %4s %4s %4s %-9s' "$role" "$m" "$n" "$k" "${flags:--}")"
    for side in "${sides[@]}"; do
      case $side in
        engine) g=$("$PEFT" bench gemm --json "${shape[@]}" | gflops) ;;
        torchsharp) g=$("$PEER" --mode gemm --json "${shape[@]}" | gflops) ;;
        pytorch) g=$(/usr/bin/python3 benchmarks/peers/gemm_peer.py "${shape[@]}" | gflops) ;;
      esac
      echo "$role $side $g" >>"$log"
      out+="  $side $g"
    done
    echo "$out GFLOP/s"
  done
done
/usr/bin/python3 - "$log" "$ROUNDS" "$PYTORCH" <<'PY'
import collections, statistics, sys
log, rounds, pytorch = sys.argv[1], sys.argv[2], sys.argv[3] == "yes"
runs = collections.defaultdict(list)
order = []
for line in open(log):
    role, side, g = line.split()
    if role not in order: order.append(role)
    runs[role, side].append(float(g))
med = lambda role, side: statistics.median(runs[role, side])
print(f"medians over {rounds} rounds of each run's best GFLOP/s:")
head = f"{'shape':16} {'engine':>8} {'TorchSharp':>10} {'ours/TS':>8}"
if pytorch: head += f" {'PyTorch':>8} {'ours/PT':>8}"
print(head + "  goal")
short = []
for role in order:
    e, t = med(role, "engine"), med(role, "torchsharp")
    goal = 1.3 if role == "square" else 1.0
    verdict = "met" if e / t >= goal else "NOT met"
    if verdict != "met": short.append(role)
    row = f"{role:16} {e:8.1f} {t:10.1f} {e / t:8.2f}"
    if pytorch:
        p = med(role, "pytorch")
        row += f" {p:8.1f} {e / p:8.2f}"
    print(row + f"  ≥ {goal:.1f}: {verdict}")
print("shapes below the goal against TorchSharp: " + (", ".join(short) if short else "none"))
PY
