#!/usr/bin/env bash
# Peak memory of loading a big BF16 checkpoint straight to 4-bit (LlamaForCausalLM.FromPretrained(dir, quantization:)),
# against the model's own bytes (4-bit weights + the parts kept in their dtype: embeddings, norms, head).
#  1. generates random BF16 checkpoints (once; about 2.2 GB and 1.3 GB) under ${BIG_CHECKPOINT_DIR:-/tmp}:
#     TinyLlama-1.1B's shape (dim 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocabulary 32000) and a 2-layer slice
#     of Llama-2-7B's shape (dim 4096, 32 heads, 32 KV heads, FFN 11008, vocabulary 32000);
#  2. loads each to NF4 (blocksize 64, double quantization) under /usr/bin/time -v and prints the tool's JSON line and
#     the kernel's maximum resident set size;
#  3. computes the whole 7B shape on paper: its 4-bit and unquantized bytes exactly, plus the load overhead measured on
#     the 1.1B checkpoint (peak − model bytes), checked against the 2-layer slice.
# Usage: benchmarks/big_checkpoint.sh        (Linux: reads /proc/self/status)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${BIG_CHECKPOINT_DIR:-/tmp}
dotnet build benchmarks/BigCheckpoint -c Release -v q -nologo >/dev/null
TOOL=artifacts/bin/BigCheckpoint/release/BigCheckpoint
TINY=$DIR/peft-tinyllama-1.1b-bf16
SLICE=$DIR/peft-llama-7b-2layers-bf16
[[ -f $TINY/model.safetensors ]] || "$TOOL" make "$TINY" --dim 2048 --layers 22 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000
[[ -f $SLICE/model.safetensors ]] || "$TOOL" make "$SLICE" --dim 4096 --layers 2 --heads 32 --kv-heads 32 --ffn 11008 --vocab 32000
measure() {
  local json
  json=$(/usr/bin/time -v "$TOOL" load "$1" 2>"$DIR/peft-big-checkpoint.time")
  echo "$json"
  echo "  /usr/bin/time -v: $(grep 'Maximum resident' "$DIR/peft-big-checkpoint.time" | sed -E 's/.*: //') kB maximum resident set" >&2
}
TINY_JSON=$(measure "$TINY")
SLICE_JSON=$(measure "$SLICE")
echo "$TINY_JSON"
echo "$SLICE_JSON"
/usr/bin/python3 - "$TINY_JSON" "$SLICE_JSON" <<'PY'
import json, sys
tiny, slice_ = (json.loads(a) for a in sys.argv[1:3])
MiB = 1 << 20
def four_bit_bytes(n, block=64, nested=256):
    # NF4, double quantization: packed codes n/2, one 8-bit absmax code per block, a float32 scale per 256 blocks,
    # the 256-entry nested map and the 16-entry code book (float32).
    blocks = -(-n // block)
    return (n + 1) // 2 + blocks + 4 * -(-blocks // nested) + 4 * 256 + 4 * 16
def shape_bytes(dim, layers, kv_dim, ffn, vocab):
    mats = [(dim, dim), (kv_dim, dim), (kv_dim, dim), (dim, dim), (ffn, dim), (ffn, dim), (dim, ffn)]
    four = layers * sum(four_bit_bytes(r * c) for r, c in mats)
    rest = 2 * vocab * dim * 2 + (2 * layers + 1) * dim * 4  # BF16 embeddings and head, F32 norms
    return four, rest
for name, data, shape in (("1.1B", tiny, (2048, 22, 256, 5632, 32000)), ("7B slice", slice_, (4096, 2, 4096, 11008, 32000))):
    four, rest = shape_bytes(*shape)
    print(f"{name}: model on paper {four / MiB:.0f} + {rest / MiB:.0f} MiB, measured {data['four_bit_mb']} + {data['unquantized_mb']} MiB; "
          f"peak {data['peak_rss_mb']} MiB = {data['peak_over_model']:.3f} x model (limit 1.25)")
overhead = tiny['peak_rss_mb'] - tiny['four_bit_mb'] - tiny['unquantized_mb']
four, rest = shape_bytes(4096, 32, 4096, 11008, 32000)
model = (four + rest) / MiB
slice_model = slice_['four_bit_mb'] + slice_['unquantized_mb']
print(f"load overhead measured on 1.1B: {overhead} MiB (runtime + one 8 MiB slice + quantizer scratch); on the 7B slice: "
      f"{slice_['peak_rss_mb'] - slice_model} MiB")
print(f"7B on paper: {four / MiB:.0f} MiB 4-bit + {rest / MiB:.0f} MiB unquantized = {model:.0f} MiB; "
      f"expected peak {model + overhead:.0f} MiB = {(model + overhead) / model:.3f} x model "
      f"(even scaling the 1.1B ratio {tiny['peak_over_model']:.3f}: {model * tiny['peak_over_model']:.0f} MiB)")
PY
