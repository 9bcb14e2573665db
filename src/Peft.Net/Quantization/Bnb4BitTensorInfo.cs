using Peft.Net.Core;

namespace Peft.Net.Quantization;

/// <summary>
/// What a file's bitsandbytes 4-bit tensor is, read from the safetensors header and its quant_state JSON only
/// (no data): enough to plan an output file before decoding anything.
/// </summary>
/// <param name="Name">The tensor's name (the key of its packed data).</param>
/// <param name="QuantType">NF4 or FP4.</param>
/// <param name="BlockSize">Elements per absmax.</param>
/// <param name="Shape">The original (dequantized) shape.</param>
/// <param name="OriginalDType">The original dtype (F32, F16 or BF16).</param>
/// <param name="IsDoubleQuantized">Whether the absmax are double-quantized.</param>
/// <param name="PartKeys">Every key of the layout: the packed data, absmax, quant_map, nested parts and quant_state.</param>
public sealed record Bnb4BitTensorInfo(string Name, QuantType QuantType, int BlockSize, int[] Shape, DType OriginalDType,
    bool IsDoubleQuantized, IReadOnlyList<string> PartKeys)
{
    /// <summary>n: number of elements of the original tensor.</summary>
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);
}
