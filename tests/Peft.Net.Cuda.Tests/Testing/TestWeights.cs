using Peft.Net.Core;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Tests.Testing;

/// <summary>Deterministic 4-bit tensors for the kernel comparisons.</summary>
internal static class TestWeights
{
    /// <summary>
    /// n values quantized by <see cref="Nf4Quantizer"/>; the scale changes from block to block and covers the hard
    /// cases: all-zero blocks, huge values (float16 overflow), tiny values (float16 and float32 subnormals).
    /// </summary>
    public static QuantizedTensor Quantized(int[] shape, QuantType type, int blockSize, bool doubleQuant, ulong seed)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        var random = new TensorRandom(seed);
        var values = new float[n];
        for (long start = 0, block = 0; start < n; start += blockSize, block++)
        {
            float scale = ScaleOf(block, random);
            long end = Math.Min(n, start + blockSize);
            for (long i = start; i < end; i++)
                values[i] = (float)(scale * random.NextGaussian());
        }
        return Nf4Quantizer.Quantize(Tensor.FromArray(values, shape), type, blockSize, doubleQuant);
    }

    private static float ScaleOf(long block, TensorRandom random) => (block % 11) switch
    {
        3 => 0f,           // all-zero block: absmax 0
        5 => 3e4f,         // |w| up to ~1e5: float16 overflows to infinity
        7 => 2e-6f,        // float16 subnormal range
        9 => 1e-39f,       // float32 subnormal absmax
        _ => (float)Math.Exp(random.NextGaussian() * 2),
    };

    /// <summary>
    /// A tensor assembled from raw parts (random codes, chosen absmax) to reach values the quantizer never makes:
    /// absmax +inf, NaN, −0, float16 rounding ties (65504, 65520) and subnormals.
    /// </summary>
    public static QuantizedTensor RawParts(long n, QuantType type, int blockSize, bool nested, ulong seed)
    {
        var random = new TensorRandom(seed);
        var packed = new byte[(n + 1) / 2];
        for (int i = 0; i < packed.Length; i++) packed[i] = (byte)random.NextInt(256);
        int nb = (int)((n + blockSize - 1) / blockSize);
        float[] specials = [float.PositiveInfinity, float.NaN, -0f, 0f, 65504f, 65520f, 65519.996f, 6.1035156e-05f, 2.9802322e-08f, 1e-45f, 3.3895314e38f, 1f];
        if (!nested)
        {
            var absmax = new float[nb];
            for (int j = 0; j < nb; j++)
                absmax[j] = j < specials.Length ? specials[j] : (float)Math.Exp(random.NextGaussian() * 3);
            return QuantizedTensor.FromParts(type, blockSize, [checked((int)n)], DType.F32, packed, absmax);
        }
        var codes = new byte[nb];
        for (int j = 0; j < nb; j++) codes[j] = (byte)random.NextInt(256);
        var nestedAbsmax = new float[(nb + 255) / 256];
        for (int g = 0; g < nestedAbsmax.Length; g++)
            nestedAbsmax[g] = g == 1 ? 0f : (float)Math.Exp(random.NextGaussian() * 2);
        var map = new float[256];
        for (int i = 0; i < 256; i++) map[i] = (float)(random.NextDouble() * 2 - 1);
        Array.Sort(map);
        float offset = (float)Math.Exp(random.NextGaussian());
        return QuantizedTensor.FromParts(type, blockSize, [checked((int)n)], DType.F32, packed, null, codes, nestedAbsmax, map, offset);
    }

    /// <summary>Bit patterns of a dequantized tensor: float32 bits, or float16/bfloat16 bits widened.</summary>
    public static uint[] Bits(Tensor t) => t.DType switch
    {
        DType.F32 => t.AsSpan<float>().ToArray().Select(BitConverter.SingleToUInt32Bits).ToArray(),
        DType.F16 => t.AsSpan<Half>().ToArray().Select(h => (uint)BitConverter.HalfToUInt16Bits(h)).ToArray(),
        DType.BF16 => t.AsSpan<BFloat16>().ToArray().Select(b => (uint)b.Bits).ToArray(),
        _ => throw new ArgumentException($"dtype {t.DType}"),
    };

    /// <summary>Bit patterns of an emulator output file of <paramref name="dtype"/>.</summary>
    public static uint[] OutputBits(string path, DType dtype) => dtype == DType.F32
        ? CaseFile.ReadOutput<uint>(path)
        : CaseFile.ReadOutput<ushort>(path).Select(v => (uint)v).ToArray();

    /// <summary>True for a NaN bit pattern of <paramref name="dtype"/>.</summary>
    public static bool IsNaN(uint bits, DType dtype) => dtype switch
    {
        DType.F32 => (bits & 0x7FFFFFFFu) > 0x7F800000u,
        DType.F16 => (bits & 0x7FFFu) > 0x7C00u,
        _ => (bits & 0x7FFFu) > 0x7F80u,
    };

    /// <summary>
    /// Asserts bitwise equality; NaN only has to be NaN on both sides (CUDA writes the canonical 0x7FFF, .NET keeps
    /// the payload).
    /// </summary>
    public static void AssertBitEqual(uint[] expected, uint[] actual, DType dtype, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} outputs, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] == actual[i] || (IsNaN(expected[i], dtype) && IsNaN(actual[i], dtype)))
                continue;
            Assert.Fail($"{what}: element {i} is 0x{actual[i]:X}, the C# reference gives 0x{expected[i]:X}");
        }
    }
}
