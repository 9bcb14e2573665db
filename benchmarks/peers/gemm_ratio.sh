#!/usr/bin/env bash
# Runs `peft bench gemm` (ours) and gemm_peer.py (torch.mm) at the same shape and thread count, one after the
# other in the same session, ROUNDS times, and prints the best GFLOP/s of each and ratio = ours / torch.
#
# Usage: benchmarks/peers/gemm_ratio.sh [--m 1024 --n 1024 --k 1024] [--threads 2] [--trans-a] [--trans-b] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/../.."

M=1024 N=1024 K=1024 THREADS=2 ROUNDS=3 TRANS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --m) M=$2; shift 2 ;;
    --n) N=$2; shift 2 ;;
    --k) K=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --trans-b) TRANS+=(--trans-b); shift ;;
    --trans-a) TRANS+=(--trans-a); shift ;;
    *) echo "gemm_ratio.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done

dotnet build src/Peft.Net.Cli -c Release -v quiet -nologo >/dev/null
shape=(--m "$M" --n "$N" --k "$K" --threads "$THREADS" "${TRANS[@]+"${TRANS[@]}"}")
best() { /usr/bin/python3 -c 'import json,sys; print(max(json.loads(l)["gflops"] for l in sys.stdin if l.strip()))'; }

ours_runs="" torch_runs=""
for ((round = 1; round <= ROUNDS; round++)); do
  ours=$(dotnet run --project src/Peft.Net.Cli -c Release --no-build -- bench gemm "${shape[@]}" --json)
  torch=$(/usr/bin/python3 benchmarks/peers/gemm_peer.py "${shape[@]}")
  echo "round $round  ours:  $ours"
  echo "round $round  torch: $torch"
  ours_runs+="$ours"$'\n'
  torch_runs+="$torch"$'\n'
done

ours_best=$(best <<<"$ours_runs")
torch_best=$(best <<<"$torch_runs")
echo "shape m=$M n=$N k=$K threads=$THREADS ${TRANS[*]:-}"
echo "ours  = $ours_best GFLOP/s (best of $ROUNDS rounds)"
echo "torch = $torch_best GFLOP/s (best of $ROUNDS rounds)"
/usr/bin/python3 -c "print(f'ratio = ours / torch = {$ours_best / $torch_best:.3f}')"
