namespace Peft.Net.Quantization;

/// <summary>
/// Scalar definition of double quantization (<c>compress_statistics=True</c>, nf4-format.md §4): the float32 block
/// absmax are centred on their mean and quantized again with 8-bit blockwise quantization (blocks of 256) on the
/// signed dynamic map.
/// </summary>
internal static class DoubleQuantReference
{
    /// <summary>The nested blocksize bitsandbytes always uses.</summary>
    public const int NestedBlockSize = 256;

    /// <summary>
    /// The offset: the float32 mean of the absmax, <c>fl32(fl32(Σ absmax) · fl32(1/nb))</c>. The sum is accumulated
    /// in double, in index order, so it is the correctly rounded float32 sum in practice; torch's CUDA mean
    /// multiplies by the float32 reciprocal of the count. bitsandbytes' reduction order is device-dependent, so the
    /// last bit may differ from a file made by bitsandbytes; readers always use the stored offset (§4.1, §10).
    /// </summary>
    public static float Mean(ReadOnlySpan<float> absmax)
    {
        if (absmax.IsEmpty) return 0f;
        double sum = 0;
        foreach (float a in absmax) sum += a;
        return (float)sum * (1f / absmax.Length);
    }

    // absmax: (nb) → codes: (nb), nestedAbsmax: (ceil(nb/256))
    /// <summary>
    /// Quantizes the absmax: c = fl32(absmax − offset); per group of 256, absmax2 = max|c| (the kernel's reduction,
    /// <see cref="FourBitReference.Absmax"/>) and code = <see cref="DynamicMap8.Quantize"/>(fl32(c · fl32(1/absmax2))).
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> absmax, float offset, ReadOnlySpan<float> map,
        Span<byte> codes, Span<float> nestedAbsmax)
    {
        int nb = absmax.Length;
        Span<float> centred = stackalloc float[NestedBlockSize];
        for (int group = 0, start = 0; start < nb; group++, start += NestedBlockSize)
        {
            int count = Math.Min(NestedBlockSize, nb - start);
            var c = centred[..count];
            for (int j = 0; j < count; j++) c[j] = absmax[start + j] - offset;
            float max = FourBitReference.Absmax(c, NestedBlockSize);
            nestedAbsmax[group] = max;
            float inv = 1f / max;
            for (int j = 0; j < count; j++)
                codes[start + j] = DynamicMap8.Quantize(map, c[j] * inv);
        }
    }

    /// <summary>
    /// The float32 absmax of block <paramref name="block"/>: fl32(fl32(map[q] · absmax2[block / 256]) + offset),
    /// two separately rounded operations, no FMA (§4.4).
    /// </summary>
    public static float DequantizeOne(ReadOnlySpan<byte> codes, ReadOnlySpan<float> nestedAbsmax,
        ReadOnlySpan<float> map, float offset, int nestedBlockSize, int block)
    {
        float scaled = map[codes[block]] * nestedAbsmax[block / nestedBlockSize];
        return scaled + offset;
    }
}
