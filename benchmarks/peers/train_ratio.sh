#!/usr/bin/env bash
# Runs `peft bench train` and the PyTorch peer (benchmarks/peers/train_peer.py, 2 threads) on the same shape in the same
# session, for lora, dora and qlora, alternating ours and PyTorch for ROUNDS rounds, and prints the best tokens/s of
# each side, the ratio ours / PyTorch, peak memory, our CPU utilisation, and our DoRA and QLoRA step times relative
# to LoRA's (from the best runs).
# Usage: benchmarks/peers/train_ratio.sh [--rounds 3] [extra shape flags, e.g. --dim 256 --layers 2 --steps 8]
# The machine is shared: best-of-rounds filters out the other tenants' bursts; read single runs as indicative.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3
if [[ "${1:-}" == "--rounds" ]]; then ROUNDS=$2; shift 2; fi
dotnet build src/Peft.Net.Cli -c Release -v q -nologo >/dev/null
PEFT=artifacts/bin/Peft.Net.Cli/release/peft
PY=/usr/bin/python3
field() { sed -E "s/.*\"$1\": ?([0-9.eE+-]+).*/\1/"; }
max() { echo "if ($1 > $2) $1 else $2" | bc -l; }
declare -A ours_best torch_best ours_peak torch_peak ours_cpu
for method in lora dora qlora; do ours_best[$method]=0; torch_best[$method]=0; done
for ((round = 1; round <= ROUNDS; round++)); do
  for method in lora dora qlora; do
    ours=$("$PEFT" bench train --method "$method" --json "$@")
    torch=$("$PY" benchmarks/peers/train_peer.py --method "$method" --json "$@")
    o=$(echo "$ours" | field tokens_per_s); t=$(echo "$torch" | field tokens_per_s)
    echo "round $round $method: ours $o tokens/s, torch $t tokens/s" >&2
    if (( $(echo "$o > ${ours_best[$method]}" | bc -l) )); then
      ours_best[$method]=$o
      ours_cpu[$method]=$(echo "$ours" | sed -E 's/.*"cpu_utilisation": ?([0-9.eE+-]+).*/\1/')
    fi
    torch_best[$method]=$(max "$t" "${torch_best[$method]}")
    ours_peak[$method]=$(echo "$ours" | field peak_mb); torch_peak[$method]=$(echo "$torch" | field peak_mb)
  done
done
printf '%-6s %14s %14s %8s %12s %12s %9s\n' method ours_tok_s torch_tok_s ratio ours_peak_mb torch_peak_mb ours_cpu
for method in lora dora qlora; do
  o=${ours_best[$method]}; t=${torch_best[$method]}
  printf '%-6s %14.0f %14.0f %8.2f %12.0f %12.0f %8.0f%%\n' "$method" "$o" "$t" "$(echo "$o / $t" | bc -l)" \
    "${ours_peak[$method]}" "${torch_peak[$method]}" "$(echo "${ours_cpu[$method]} * 100" | bc -l)"
done
printf 'best of %d rounds; step time vs LoRA (ours): dora %.2f, qlora %.2f\n' "$ROUNDS" \
  "$(echo "${ours_best[lora]} / ${ours_best[dora]}" | bc -l)" "$(echo "${ours_best[lora]} / ${ours_best[qlora]}" | bc -l)"
