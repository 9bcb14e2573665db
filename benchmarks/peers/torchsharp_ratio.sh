#!/usr/bin/env bash
# Peft.Net.TorchSharp's training step against a hand-written TorchSharp LoRA and against the engine, same shape, same
# session: alternates, ROUNDS times, the TorchSharp peer (benchmarks/TorchSharpPeer: handwritten, peft-lora, peft-dora,
# peft-qlora) with `peft bench train --method lora|dora|qlora --json`, prints every round's step times, then the
# medians and the ratios:
#   our modules vs hand-written LoRA (step time; the target is ≤ 1.05),
#   QLoRA over Nf4Linear vs LoRA over a float base, both on TorchSharp (target ≤ 1.3),
#   TorchSharp vs the engine for each method (step time; < 1 means TorchSharp is faster),
# and the machine: CPU model, cores, threads, the engine's GEMM kernel path, OMP_WAIT_POLICY.
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
# LibTorch's OpenMP threads spin while waiting by default; with other work on the cores that costs 10–100× (see
# samples/TorchSharpFineTune/TorchLlama/OpenMpWaitPolicy.cs). Passive waiting unless the caller chose a policy.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export PEFT_NUM_THREADS=$THREADS
dotnet build src/Peft.Net.Cli -c Release -v q -nologo >/dev/null
dotnet build benchmarks/TorchSharpPeer -c Release -v q -nologo >/dev/null
PEFT=artifacts/bin/Peft.Net.Cli/release/peft
PEER=artifacts/bin/TorchSharpPeer/release/TorchSharpPeer
step_ms() { sed -E 's/.*"step_ms": ?([0-9.eE+-]+).*/\1/'; }
log=$(mktemp)
for ((round = 1; round <= ROUNDS; round++)); do
  line="round $round:"
  for mode in handwritten peft-lora peft-dora peft-qlora; do
    ms=$("$PEER" --mode "$mode" --threads "$THREADS" --json "$@" | step_ms)
    echo "torchsharp $mode $ms" >>"$log"; line+=" $mode ${ms%.*} ms"
  done
  for method in lora dora qlora; do
    ms=$("$PEFT" bench train --method "$method" --json "$@" | step_ms)
    echo "engine $method $ms" >>"$log"; line+=" | engine-$method ${ms%.*} ms"
  done
  echo "$line"
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
kernel=$("$PEFT" bench gemm --m 64 --n 64 --k 64 --json | sed -E 's/.*"kernel": ?"([^"]*)".*/\1/')
/usr/bin/python3 - "$log" "$ROUNDS" "$THREADS" "$cpu" "$(nproc)" "$kernel" "$OMP_WAIT_POLICY" <<'PY'
import collections, statistics, sys
log, rounds, threads, cpu, cores, kernel, policy = sys.argv[1:8]
runs = collections.defaultdict(list)
for line in open(log):
    side, name, ms = line.split()
    runs[f"{side}:{name}"].append(float(ms))
med = {k: statistics.median(v) for k, v in runs.items()}
print(f"machine: {cpu}; {cores} cores; {threads} threads; engine GEMM kernel {kernel}; OMP_WAIT_POLICY={policy}; {rounds} interleaved rounds")
print(f"{'run':26} {'median_ms':>10} {'best_ms':>9}")
for k in sorted(runs):
    print(f"{k:26} {med[k]:10.1f} {min(runs[k]):9.1f}")
def ratio(label, a, b, target=None):
    r = med[a] / med[b]
    verdict = "" if target is None else ("  (target ≤ %.2f: %s)" % (target, "met" if r <= target else "NOT met"))
    print(f"{label:58} {r:6.3f}{verdict}")
print("step-time ratios of the medians:")
ratio("our LoRA modules / hand-written TorchSharp LoRA", "torchsharp:peft-lora", "torchsharp:handwritten", 1.05)
ratio("QLoRA over Nf4Linear / LoRA over float (TorchSharp)", "torchsharp:peft-qlora", "torchsharp:peft-lora", 1.3)
ratio("DoRA / LoRA (TorchSharp)", "torchsharp:peft-dora", "torchsharp:peft-lora")
ratio("QLoRA / LoRA (engine)", "engine:qlora", "engine:lora")
for m in ("lora", "dora", "qlora"):
    ratio(f"TorchSharp peft-{m} / engine {m}", f"torchsharp:peft-{m}", f"engine:{m}")
ratio("TorchSharp hand-written LoRA / engine lora", "torchsharp:handwritten", "engine:lora")
PY
rm -f "$log"
