#!/usr/bin/env bash
# Peft.Net.TorchSharp's training step against a hand-written TorchSharp LoRA and against the engine, same shape, same
# session: prints the machine first (machine.sh: CPU model, family/model, cores, AVX-512, the engine's GEMM kernel path,
# threads, OMP_WAIT_POLICY, load), then alternates, ROUNDS times, the TorchSharp peer (benchmarks/TorchSharpPeer:
# handwritten, peft-lora, peft-dora, peft-qlora) with `peft bench train --method lora|dora|qlora --json` (the side that
# starts alternating between rounds), prints every round's step times, then the medians and the ratios:
#   our modules vs hand-written LoRA (step time; the target is ≤ 1.05),
#   QLoRA over Nf4Linear vs LoRA over a float base, both on TorchSharp (target ≤ 1.3),
#   TorchSharp vs the engine for each method (step time = the engine's speed-up; issue 17's goal: ≥ 1.8 for LoRA
#   against the hand-written TorchSharp LoRA), and the engine's DoRA and QLoRA against its LoRA (goal ≤ 1.10).
# Usage: benchmarks/peers/torchsharp_ratio.sh [--rounds 3] [--threads 2] [extra shape flags, e.g. --dim 256 --steps 8]
# The shape flags are those of `peft bench train` (default: dim 512, 4 layers, 8 heads, FFN 1376, vocab 4096, 4 × 256
# tokens, rank 8, alpha 16, 5 timed steps after one warm-up). On a shared machine read the medians, not single runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3
THREADS=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    *) break ;;
  esac
done
export PEFT_NUM_THREADS=$THREADS
source benchmarks/peers/torchsharp_setup.sh
step_ms() { sed -E 's/.*"step_ms": ?([0-9.eE+-]+).*/\1/'; }
print_machine "$PEFT" "$THREADS"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
torchsharp_side() {
  for mode in handwritten peft-lora peft-dora peft-qlora; do
    ms=$("$PEER" --mode "$mode" --threads "$THREADS" --json "$@" | step_ms)
    echo "torchsharp $mode $ms" >>"$log"; line+=" $mode ${ms%.*} ms |"
  done
}
engine_side() {
  for method in lora dora qlora; do
    ms=$("$PEFT" bench train --method "$method" --json "$@" | step_ms)
    echo "engine $method $ms" >>"$log"; line+=" engine-$method ${ms%.*} ms |"
  done
}
for ((round = 1; round <= ROUNDS; round++)); do
  line="round $round:"
  if ((round % 2 == 1)); then torchsharp_side "$@"; engine_side "$@"; else engine_side "$@"; torchsharp_side "$@"; fi
  echo "${line% |}"
done
/usr/bin/python3 - "$log" "$ROUNDS" "$THREADS" <<'PY'
import collections, statistics, sys
log, rounds, threads = sys.argv[1:4]
runs = collections.defaultdict(list)
for line in open(log):
    side, name, ms = line.split()
    runs[f"{side}:{name}"].append(float(ms))
med = {k: statistics.median(v) for k, v in runs.items()}
print(f"medians over {rounds} interleaved rounds, {threads} threads:")
print(f"{'run':26} {'median_ms':>10} {'best_ms':>9}")
for k in sorted(runs):
    print(f"{k:26} {med[k]:10.1f} {min(runs[k]):9.1f}")
def ratio(label, a, b, target=None, at_least=None):
    r = med[a] / med[b]
    verdict = ""
    if target is not None: verdict = "  (target ≤ %.2f: %s)" % (target, "met" if r <= target else "NOT met")
    if at_least is not None: verdict = "  (goal ≥ %.2f: %s)" % (at_least, "met" if r >= at_least else "NOT met")
    print(f"{label:58} {r:6.3f}{verdict}")
print("step-time ratios of the medians:")
ratio("our LoRA modules / hand-written TorchSharp LoRA", "torchsharp:peft-lora", "torchsharp:handwritten", 1.05)
ratio("QLoRA over Nf4Linear / LoRA over float (TorchSharp)", "torchsharp:peft-qlora", "torchsharp:peft-lora", 1.3)
ratio("DoRA / LoRA (TorchSharp)", "torchsharp:peft-dora", "torchsharp:peft-lora")
ratio("DoRA / LoRA (engine)", "engine:dora", "engine:lora", 1.10)
ratio("QLoRA / LoRA (engine)", "engine:qlora", "engine:lora", 1.10)
for m in ("lora", "dora", "qlora"):
    ratio(f"TorchSharp peft-{m} / engine {m}", f"torchsharp:peft-{m}", f"engine:{m}")
ratio("TorchSharp hand-written LoRA / engine lora", "torchsharp:handwritten", "engine:lora", at_least=1.8)
PY
