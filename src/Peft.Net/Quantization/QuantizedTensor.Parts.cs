using Peft.Net.Core;

namespace Peft.Net.Quantization;

public sealed partial class QuantizedTensor
{
    /// <summary>The blocksizes bitsandbytes accepts for 4-bit quantization.</summary>
    public static IReadOnlyList<int> SupportedBlockSizes { get; } = [32, 64, 128, 256, 512, 1024, 2048, 4096];

    /// <summary>
    /// Assembles a quantized tensor from its stored parts (as a loader reads them from a file), validating every
    /// length against the shape. The arrays are taken over, not copied. Give either <paramref name="absmax"/> (plain)
    /// or <paramref name="quantizedAbsmax"/> with <paramref name="nestedAbsmax"/> and
    /// <paramref name="nestedQuantMap"/> (double-quantized).
    /// </summary>
    /// <param name="quantType">NF4 or FP4.</param>
    /// <param name="blockSize">B, one of <see cref="SupportedBlockSizes"/>.</param>
    /// <param name="shape">The original tensor's shape.</param>
    /// <param name="originalDType">The original dtype (F32, F16 or BF16).</param>
    /// <param name="packed">ceil(n/2) packed bytes.</param>
    /// <param name="absmax">[nb] float32 absmax, or null when double-quantized.</param>
    /// <param name="quantizedAbsmax">[nb] 8-bit absmax codes, or null.</param>
    /// <param name="nestedAbsmax">[ceil(nb/256)] nested absmax, or null.</param>
    /// <param name="nestedQuantMap">[256] nested map (finite, ascending), or null.</param>
    /// <param name="offset">The nested offset (the stored <c>nested_offset</c>); must be 0 or finite.</param>
    /// <param name="nestedBlockSize">The nested blocksize; bitsandbytes always writes 256.</param>
    /// <param name="quantMap">[16] code values; null means the standard table. A given map must equal it, because
    /// bitsandbytes decodes with its built-in table whatever the file says.</param>
    /// <exception cref="ArgumentException">A part is missing, has the wrong length or is inconsistent; the message names it.</exception>
    public static QuantizedTensor FromParts(QuantType quantType, int blockSize, int[] shape, DType originalDType,
        byte[] packed, float[]? absmax, byte[]? quantizedAbsmax = null, float[]? nestedAbsmax = null,
        float[]? nestedQuantMap = null, float offset = 0f, int nestedBlockSize = 256, float[]? quantMap = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(packed);
        if (!Enum.IsDefined(quantType))
            throw new ArgumentException($"Unknown quant type {(int)quantType}; expected Nf4 or Fp4.", nameof(quantType));
        if (!SupportedBlockSizes.Contains(blockSize))
            throw new ArgumentException($"Blocksize {blockSize} is not supported; bitsandbytes uses one of {string.Join(", ", SupportedBlockSizes)}.", nameof(blockSize));
        if (!originalDType.IsFloatingPoint())
            throw new ArgumentException($"Original dtype {originalDType} is not a floating type (F32, F16 or BF16).", nameof(originalDType));
        long n = ElementCountOf(shape);
        long nb = (n + blockSize - 1) / blockSize;
        string what = $"{quantType.ToString().ToUpperInvariant()} tensor [{string.Join(", ", shape)}] (n = {n}, B = {blockSize})";
        if (packed.LongLength != (n + 1) / 2)
            throw new ArgumentException($"Packed data of {what} has {packed.LongLength} bytes; the shape needs ceil(n/2) = {(n + 1) / 2}.", nameof(packed));

        if (quantizedAbsmax is null)
        {
            if (absmax is null)
                throw new ArgumentException($"{what} has neither absmax nor quantized absmax.", nameof(absmax));
            if (absmax.LongLength != nb)
                throw new ArgumentException($"Absmax of {what} has {absmax.LongLength} values; the shape needs nb = ceil(n/B) = {nb}.", nameof(absmax));
            if (nestedAbsmax is not null || nestedQuantMap is not null)
                throw new ArgumentException($"{what} has nested absmax or a nested map but no quantized absmax.", nameof(nestedAbsmax));
            if (offset != 0f)
                throw new ArgumentException($"{what} has a nested offset {offset} but is not double-quantized.", nameof(offset));
        }
        else
        {
            if (absmax is not null)
                throw new ArgumentException($"{what} has both float32 absmax and quantized absmax; give one.", nameof(absmax));
            if (quantizedAbsmax.LongLength != nb)
                throw new ArgumentException($"Quantized absmax of {what} has {quantizedAbsmax.LongLength} codes; the shape needs nb = {nb}.", nameof(quantizedAbsmax));
            if (nestedBlockSize != DoubleQuantReference.NestedBlockSize)
                throw new ArgumentException($"Nested blocksize {nestedBlockSize} of {what} is not supported; bitsandbytes uses 256.", nameof(nestedBlockSize));
            long groups = (nb + nestedBlockSize - 1) / nestedBlockSize;
            if (nestedAbsmax is null || nestedAbsmax.LongLength != groups)
                throw new ArgumentException($"Nested absmax of {what} has {nestedAbsmax?.LongLength.ToString() ?? "no"} values; nb = {nb} needs ceil(nb/256) = {groups}.", nameof(nestedAbsmax));
            if (nestedQuantMap is null || nestedQuantMap.Length != DynamicMap8.Size)
                throw new ArgumentException($"Nested quant map of {what} has {nestedQuantMap?.Length.ToString() ?? "no"} entries; expected 256.", nameof(nestedQuantMap));
            for (int i = 0; i < nestedQuantMap.Length; i++)
                if (!float.IsFinite(nestedQuantMap[i]) || (i > 0 && !(nestedQuantMap[i] >= nestedQuantMap[i - 1])))
                    throw new ArgumentException($"Nested quant map of {what} is not finite and ascending at entry {i} ({nestedQuantMap[i]}).", nameof(nestedQuantMap));
            if (!float.IsFinite(offset))
                throw new ArgumentException($"Nested offset of {what} is {offset}; it must be finite.", nameof(offset));
        }

        float[] standard = FourBitReference.Table(quantType);
        if (quantMap is null)
            quantMap = (float[])standard.Clone();
        else if (quantMap.Length != 16 || !quantMap.AsSpan().SequenceEqual(standard))
            throw new ArgumentException(
                $"Quant map of {what} ({quantMap.Length} values) is not the standard {quantType.ToString().ToUpperInvariant()} table; bitsandbytes decodes with its built-in table, so the file is corrupt or of another quant type.",
                nameof(quantMap));

        return new QuantizedTensor(quantType, blockSize, (int[])shape.Clone(), originalDType, n, packed, absmax,
            quantizedAbsmax, nestedAbsmax, nestedQuantMap, offset, quantMap);
    }

    private static long ElementCountOf(int[] shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Shape [{string.Join(", ", shape)}] has a negative dimension.", nameof(shape));
            n *= d;
            if (n > 2L * Array.MaxLength)
                throw new ArgumentException($"Shape [{string.Join(", ", shape)}] has more elements than a packed byte array can hold.", nameof(shape));
        }
        return n;
    }
}
