using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

/// <summary>
/// The deterministic inputs of tests/fixtures/make_nf4.py, regenerated bit for bit: a counter-based integer hash and
/// only exactly rounded float32 operations (+, −, ·, /, sqrt), so C# and NumPy agree on every bit.
/// </summary>
internal static class FixtureInput
{
    private const float Sqrt3 = 1.7320508075688772f;

    private static uint Hash32(ulong x)
    {
        uint v = (uint)x;
        v ^= v >> 16;
        v *= 0x7FEB352D;
        v ^= v >> 15;
        v *= 0x846CA68B;
        v ^= v >> 16;
        return v;
    }

    private static uint Bits(int seed, int stream, long index) =>
        Hash32((ulong)index * 0x9E3779B9UL + (ulong)seed * 0x85EBCA6BUL + (ulong)stream * 0xC2B2AE35UL);

    private static float Normal(int seed, int stream, long index)
    {
        uint h1 = Bits(seed, stream, index), h2 = Bits(seed, stream + 1, index);
        long s = (h1 & 0xFFFF) + (h1 >> 16) + (h2 & 0xFFFF) + (h2 >> 16);
        float z = s - 131070;
        return z * (1f / 65536) * Sqrt3;
    }

    private static float Uniform(int seed, int stream, long index) =>
        ((long)(Bits(seed, stream, index) >> 8) - 8388608) * (1f / 8388608);

    private static float[] TieValues() =>
        [1f, .. Nf4Reference.Thresholds, .. Nf4Reference.Table, .. Fp4Reference.Thresholds, .. Fp4Reference.Magnitudes];

    /// <summary>make_nf4.py's <c>make_input(seed, block_size, n, zero_tail)</c>.</summary>
    public static float[] Make(int seed, int blockSize, int n, bool zeroTail)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            uint hb = Bits(seed, 100, i / blockSize);
            int kind = (int)(hb % 8);
            int exponent = (int)((hb >> 3) % 12) - 8;
            float scale = MathF.ScaleB(1f, exponent);
            float sample;
            if (kind <= 2) sample = Normal(seed, 1, i);
            else if (kind == 3) sample = Uniform(seed, 3, i);
            else if (kind == 4)
            {
                float a = Normal(seed, 12, i), b = Normal(seed, 14, i), c = Normal(seed, 16, i);
                float chi = a * a + b * b + c * c;
                sample = chi == 0 ? Normal(seed, 10, i) : Normal(seed, 10, i) / MathF.Sqrt(chi / 3f);
            }
            else if (kind == 5)
            {
                float den = Normal(seed, 22, i);
                sample = den == 0 ? Normal(seed, 20, i) : Normal(seed, 20, i) / den;
            }
            else if (kind == 6) sample = 0f;
            else
            {
                uint pick = Bits(seed, 30, i) % 8;
                sample = pick == 0 ? Normal(seed, 1, i) : pick == 1 ? -0f : 0f;
            }
            x[i] = sample * scale;
            if (Bits(seed, 200, i) % 4096 == 0) x[i] = float.NaN;
        }
        var ties = TieValues();
        int nb = (n + blockSize - 1) / blockSize;
        if (nb > 2)
            for (int j = 0; j < blockSize; j++)
                x[blockSize + j] = ties[j % ties.Length] * ((j / ties.Length) % 2 == 0 ? 1f : -1f);
        if (blockSize is 128 or 2048 && nb > 3)
            Array.Fill(x, float.NaN, 2 * blockSize, blockSize);
        if (zeroTail && n % blockSize != 0)
            Array.Clear(x, (nb - 1) * blockSize, n - (nb - 1) * blockSize);
        return x;
    }
}
