namespace Peft.Net.Quantization;

/// <summary>
/// Scalar definition of bitsandbytes' 4-bit blockwise quantization as its CUDA kernels compute it
/// (<c>kQuantizeBlockwise</c> / <c>kDequantizeBlockwise</c>; nf4-format.md §2, §3, §5). Obviously correct rather
/// than fast: the oracle for <see cref="FourBitQuantizeKernel"/> and <see cref="FourBitDequantizeKernel"/>.
/// </summary>
/// <remarks>
/// Per block of B consecutive flat elements (the last block may be short):
/// absmax = max|x| over the valid elements (see <see cref="Absmax"/> for NaN), inv = fl32(1/absmax), and each
/// element's code is Encode(fl32(x·inv)). An all-zero block gives inv = ∞ and 0·∞ = NaN, so code 0 (bytes 0x00 for
/// NF4). Byte k packs code[2k] in the high nibble and code[2k + 1] in the low one; for odd n the pad nibble is the code
/// of 0·inv of the last block. Decoding is out[i] = fl32(table[code_i] · absmax[i / B]).
/// Float32 throughout, no FMA; CUDA's fast-math reciprocal and denormal flushing are not modelled (§2.6).
/// </remarks>
internal static class FourBitReference
{
    /// <summary>The code of a normalized value for <paramref name="type"/>.</summary>
    public static byte Encode(QuantType type, float normalized) =>
        type == QuantType.Nf4 ? Nf4Reference.Encode(normalized) : Fp4Reference.Encode(normalized);

    /// <summary>The 16 decoded values in code order (the serialized <c>quant_map</c>).</summary>
    public static float[] Table(QuantType type) => type == QuantType.Nf4 ? Nf4Reference.Table : Fp4Reference.Table;

    /// <summary>
    /// The kernel's block absmax: an <c>fmaxf</c> reduction of |x| starting from −FLT_MAX over the block's
    /// <paramref name="blockSize"/> slots, where slots past the end of the data hold 0 (the zero-padded load).
    /// So NaN is ignored, a short block's absmax is at least 0, and a full block of NaN gets −FLT_MAX.
    /// </summary>
    public static float Absmax(ReadOnlySpan<float> block, int blockSize)
    {
        float max = -float.MaxValue;
        foreach (float x in block)
        {
            float a = MathF.Abs(x);
            if (a > max) max = a;
        }
        return block.Length < blockSize && max < 0f ? 0f : max;
    }

    // x: (n) → packed: (ceil(n/2)), absmax: (ceil(n/B))
    /// <summary>Quantizes <paramref name="x"/> blockwise into packed nibbles and per-block absmax.</summary>
    public static void Quantize(ReadOnlySpan<float> x, QuantType type, int blockSize,
        Span<byte> packed, Span<float> absmax)
    {
        int n = x.Length;
        for (int block = 0, start = 0; start < n; block++, start += blockSize)
        {
            int count = Math.Min(blockSize, n - start);
            float max = Absmax(x.Slice(start, count), blockSize);
            absmax[block] = max;
            float inv = 1f / max;
            for (int i = start; i < start + count; i++)
                SetCode(packed, i, Encode(type, x[i] * inv));
            if ((n & 1) == 1 && start + count == n)
                SetCode(packed, n, Encode(type, 0f * inv)); // the pad nibble, as the kernel's zero-padded load gives
        }
    }

    /// <summary>The 4-bit code of flat element <paramref name="index"/>: high nibble for even indices.</summary>
    public static int Code(ReadOnlySpan<byte> packed, long index)
    {
        int b = packed[(int)(index >> 1)];
        return (index & 1) == 0 ? b >> 4 : b & 0x0F;
    }

    /// <summary>fl32(table[code] · absmax): the decoded value of one element.</summary>
    public static float DecodeElement(QuantType type, int code, float absmax) => Table(type)[code] * absmax;

    // packed: (ceil(n/2)), absmax: (nb) → destination: elements [start, start + destination.Length)
    /// <summary>Decodes a range of flat elements with plain (float32) per-block absmax.</summary>
    public static void Dequantize(ReadOnlySpan<byte> packed, ReadOnlySpan<float> absmax, QuantType type,
        int blockSize, long start, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            long index = start + i;
            destination[i] = DecodeElement(type, Code(packed, index), absmax[(int)(index / blockSize)]);
        }
    }

    /// <summary>Writes the nibble of flat element <paramref name="index"/>, keeping the other nibble.</summary>
    internal static void SetCode(Span<byte> packed, int index, byte code)
    {
        ref byte b = ref packed[index >> 1];
        b = (index & 1) == 0 ? (byte)((b & 0x0F) | (code << 4)) : (byte)((b & 0xF0) | code);
    }
}
