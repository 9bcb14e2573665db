#!/usr/bin/env bash
# DoRA's and QLoRA's step time relative to LoRA's, ours only (no peer): runs `peft bench train` for lora, dora and
# qlora in turn, ROUNDS times (interleaved, so a burst of load on the shared machine hits all three alike), and
# prints each method's median and best step time and the ratios to LoRA of both.
# Usage: benchmarks/peers/method_overhead.sh [--rounds 8] [extra bench flags, e.g. --steps 8]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=8
if [[ "${1:-}" == "--rounds" ]]; then ROUNDS=$2; shift 2; fi
dotnet build src/Peft.Net.Cli -c Release -v q -nologo >/dev/null
PEFT=artifacts/bin/Peft.Net.Cli/release/peft
declare -A times
for ((round = 1; round <= ROUNDS; round++)); do
  for method in lora dora qlora; do
    ms=$("$PEFT" bench train --method "$method" --json "$@" | sed -E 's/.*"step_ms": ?([0-9.eE+-]+).*/\1/')
    times[$method]+="$ms "
    echo "round $round $method: $ms ms/step" >&2
  done
done
/usr/bin/python3 - "${times[lora]}" "${times[dora]}" "${times[qlora]}" "$ROUNDS" <<'PY'
import statistics, sys
lora, dora, qlora = ([float(v) for v in arg.split()] for arg in sys.argv[1:4])
print(f"{'method':6} {'median_ms':>10} {'best_ms':>9} {'median/LoRA':>12} {'best/LoRA':>10}   ({sys.argv[4]} interleaved rounds)")
for name, values in (("lora", lora), ("dora", dora), ("qlora", qlora)):
    print(f"{name:6} {statistics.median(values):10.1f} {min(values):9.1f} "
          f"{statistics.median(values) / statistics.median(lora):12.3f} {min(values) / min(lora):10.3f}")
PY
