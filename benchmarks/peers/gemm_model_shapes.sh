#!/usr/bin/env bash
# Every GEMM shape of one `peft bench train` step (default model: M = 4·256 = 1024 tokens, dim 512, FFN 1376,
# vocabulary 4096, rank 8), ours against torch.mm on 2 threads, via gemm_ratio.sh. Prints one line per shape:
#   role  m n k flags  ours_GFLOP/s  torch_GFLOP/s  ratio
# Usage: benchmarks/peers/gemm_model_shapes.sh [--rounds 2]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=2
[[ "${1:-}" == "--rounds" ]] && ROUNDS=$2
shapes=(
  "attn-proj-fwd 1024 512 512 --trans-b"
  "mlp-up-fwd 1024 1376 512 --trans-b"
  "mlp-down-fwd 1024 512 1376 --trans-b"
  "lm-head-fwd 1024 4096 512 --trans-b"
  "attn-proj-dx 1024 512 512"
  "mlp-up-dx 1024 512 1376"
  "mlp-down-dx 1024 1376 512"
  "lm-head-dx 1024 512 4096"
  "lora-down-fwd 1024 8 512 --trans-b"
  "lora-up-fwd 1024 1376 8 --trans-b"
  "lora-du 1024 8 1376"
  "lora-dB 1376 8 1024 --trans-a"
  "lora-dA 8 512 1024 --trans-a"
  "square 1024 1024 1024"
)
printf '%-14s %5s %5s %5s %-10s %10s %10s %7s\n' role m n k flags ours torch ratio
for line in "${shapes[@]}"; do
  read -r role m n k flags <<<"$line"
  out=$(benchmarks/peers/gemm_ratio.sh --m "$m" --n "$n" --k "$k" --rounds "$ROUNDS" ${flags:-})
  ours=$(sed -nE 's/^ours  = ([0-9.]+).*/\1/p' <<<"$out")
  torch=$(sed -nE 's/^torch = ([0-9.]+).*/\1/p' <<<"$out")
  ratio=$(sed -nE 's/^ratio = ours \/ torch = ([0-9.]+)/\1/p' <<<"$out")
  printf '%-14s %5s %5s %5s %-10s %10s %10s %7s\n' "$role" "$m" "$n" "$k" "${flags:--}" "$ours" "$torch" "$ratio"
done
