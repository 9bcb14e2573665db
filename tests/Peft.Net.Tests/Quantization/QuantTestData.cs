using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

/// <summary>Inputs that reach every branch of the 4-bit kernels: mixed scales, zero blocks, exact ties, NaN, ±0, ±∞.</summary>
internal static class QuantTestData
{
    /// <summary>The lengths every SIMD kernel test covers: every vector width and tail.</summary>
    public static readonly int[] SimdLengths = [0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000];

    public static readonly int[] BlockSizes = [32, 64, 128, 256, 512, 1024, 2048, 4096];

    public static readonly QuantType[] QuantTypes = [QuantType.Nf4, QuantType.Fp4];

    /// <summary>n values in blocks of <paramref name="blockSize"/>; block kinds rotate, specials are sprinkled in.</summary>
    public static float[] Mixed(int n, int blockSize, int seed, bool specials = true)
    {
        var random = new Random(seed);
        var x = new float[n];
        for (int start = 0, block = 0; start < n; start += blockSize, block++)
        {
            int count = Math.Min(blockSize, n - start);
            int kind = (block + seed) % (specials ? 6 : 5);
            float scale = MathF.Pow(2, random.Next(-12, 4)) * 0.37f;
            for (int i = 0; i < count; i++)
            {
                ref float v = ref x[start + i];
                v = kind switch
                {
                    0 => 0f, // all-zero block
                    1 => Ties(i), // exact threshold and table values, absmax exactly 1
                    5 => float.NaN, // all-NaN block: absmax −FLT_MAX when full, 0 when short
                    2 => (float)(random.NextDouble() * 2 - 1) * scale,
                    _ => (float)Gaussian(random) * scale,
                };
            }
        }
        if (specials)
            for (int i = 0; i < n; i++)
            {
                int r = random.Next(0, 200);
                if (r == 0) x[i] = float.NaN;
                else if (r == 1) x[i] = -0f;
                else if (r == 2) x[i] = 0f;
            }
        return x;
    }

    private static float Ties(int i)
    {
        float[] specials = [.. Nf4Reference.Thresholds, .. Nf4Reference.Table, .. Fp4Reference.Thresholds, .. Fp4Reference.Magnitudes];
        if (i == 0) return 1f;
        float v = specials[i % specials.Length];
        return (i / specials.Length) % 2 == 0 ? v : -v;
    }

    private static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public static uint Bits(float x) => BitConverter.SingleToUInt32Bits(x);

    /// <summary>Asserts bitwise equality of two float arrays with a message naming the first difference.</summary>
    public static void BitEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            if (Bits(expected[i]) != Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R} (0x{Bits(actual[i]):X8}), expected {expected[i]:R} (0x{Bits(expected[i]):X8})");
    }

    public static void BytesEqual(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i])
                Assert.Fail($"{what}: byte {i} is 0x{actual[i]:X2}, expected 0x{expected[i]:X2}");
    }
}
