#!/usr/bin/env bash
# Greedy decoding with a KV cache, the engine (`peft bench decode`) against TorchSharp / LibTorch 2.10
# (benchmarks/TorchSharpPeer --mode decode: the same Llama shape, a static KV cache, scaled_dot_product_attention,
# inference_mode; its cached ids are checked against uncached decoding before it times), at 1 and 2 threads
# (torch.set_num_threads / --threads). Default model: the `bench train` shape (dim 512, 4 layers, 8 heads, FFN 1376,
# vocabulary 4096) with random weights from seed 0; prompt 128 random ids, 128 new tokens, no early stop. Each run
# does one warm-up generation and 5 timed ones and reports the median decode rate (new tokens after the first, over
# the time from the first to the last) and prefill time. ROUNDS rounds, the side that starts alternating; prints every
# round, then the medians over the rounds and ours / TorchSharp (goal, issue 17: ≥ 1.5). A decode step reads every
# weight once, so the engine's line also gives its weight stream (bytes per token × tokens/s) beside the rate at which
# this machine reads memory on the same threads (`peft bench decode`'s read probe): the ceiling for either side.
#
# Usage: benchmarks/peers/torchsharp_decode_ratio.sh [--rounds 3] [--threads "1 2"] [flags of both sides: --model DIR,
#   --dim/--layers/--heads/--kv-heads/--ffn/--vocab, --seed, --prompt-tokens 128, --new-tokens 128, --repeats 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3 THREAD_COUNTS="1 2"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --threads) THREAD_COUNTS=$2; shift 2 ;;
    *) break ;;
  esac
done
source benchmarks/peers/torchsharp_setup.sh
print_machine "$PEFT" "$THREAD_COUNTS"
echo "decode: ${*:-the bench train shape, random weights, --prompt-tokens 128 --new-tokens 128 --repeats 5}"
key() { sed -E "s/.*\"$1\": ?([0-9.eE+-]+).*/\1/"; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for ((round = 1; round <= ROUNDS; round++)); do
  sides=(engine torchsharp); ((round % 2 == 0)) && sides=(torchsharp engine)
  for threads in $THREAD_COUNTS; do
    out="round $round threads $threads:"
    for side in "${sides[@]}"; do
      if [[ $side == engine ]]; then json=$("$PEFT" bench decode --threads "$threads" --json "$@")
      else json=$("$PEER" --mode decode --threads "$threads" --json "$@"); fi
      rate=$(key tokens_per_s <<<"$json"); prefill=$(key prefill_ms <<<"$json")
      echo "$threads $side $rate $prefill" >>"$log"
      out+=$(printf '  %s %.1f tokens/s (prefill %.1f ms)' "$side" "$rate" "$prefill")
      # The engine also reports the weights it streams per second against what this machine reads (the ceiling).
      [[ $side == engine ]] && out+=$(printf ' [weights %.1f GB/s; memory reads %.1f GB/s]' \
        "$(key weight_gb_per_s <<<"$json")" "$(key read_gb_per_s <<<"$json")")
    done
    echo "$out"
  done
done
/usr/bin/python3 - "$log" "$ROUNDS" <<'PY'
import collections, statistics, sys
log, rounds = sys.argv[1], sys.argv[2]
rate, prefill = collections.defaultdict(list), collections.defaultdict(list)
threads = []
for line in open(log):
    t, side, r, p = line.split()
    if t not in threads: threads.append(t)
    rate[t, side].append(float(r)); prefill[t, side].append(float(p))
m = lambda d, t, s: statistics.median(d[t, s])
print(f"medians over {rounds} rounds:")
print(f"{'threads':>7} {'engine tok/s':>12} {'TorchSharp tok/s':>16} {'ours/TS':>8} {'engine prefill ms':>17} {'TorchSharp prefill ms':>21}  goal")
for t in threads:
    e, s = m(rate, t, "engine"), m(rate, t, "torchsharp")
    print(f"{t:>7} {e:12.1f} {s:16.1f} {e / s:8.2f} {m(prefill, t, 'engine'):17.1f} {m(prefill, t, 'torchsharp'):21.1f}  ≥ 1.5: {'met' if e / s >= 1.5 else 'NOT met'}")
PY
