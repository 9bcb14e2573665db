#!/usr/bin/env bash
# Runs `peft bench train` and the PyTorch peer (benchmarks/peers/train_peer.py, 2 threads) on the same shape in the same
# session, for lora, dora and qlora, and prints tokens/s of both and the ratio ours / PyTorch.
# Usage: benchmarks/peers/train_ratio.sh [extra shape flags, e.g. --dim 256 --layers 2 --steps 3]
# The machine is shared: run it twice and read the numbers as indicative.
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build src/Peft.Net.Cli -c Release -v q -nologo >/dev/null
PEFT=artifacts/bin/Peft.Net.Cli/release/peft
PY=/usr/bin/python3
field() { sed -E "s/.*\"$1\": ?([0-9.eE+-]+).*/\1/"; }
printf '%-6s %14s %14s %8s %12s %12s\n' method ours_tok_s torch_tok_s ratio ours_peak_mb torch_peak_mb
for method in lora dora qlora; do
  ours=$("$PEFT" bench train --method "$method" --json "$@")
  torch=$("$PY" benchmarks/peers/train_peer.py --method "$method" --json "$@")
  o=$(echo "$ours" | field tokens_per_s); t=$(echo "$torch" | field tokens_per_s)
  op=$(echo "$ours" | field peak_mb); tp=$(echo "$torch" | field peak_mb)
  printf '%-6s %14.0f %14.0f %8.2f %12.0f %12.0f\n' "$method" "$o" "$t" "$(echo "$o / $t" | bc -l)" "$op" "$tp"
done
