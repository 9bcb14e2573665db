namespace Peft.Net.Quantization;

/// <summary>
/// bitsandbytes' signed dynamic 8-bit map (<c>create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)</c>)
/// and the CUDA 8-bit code search (<c>dQuantize</c>) used by double quantization (nf4-format.md §4.2, §4.3,
/// Appendix A). Sorted ascending: 0..126 negative, 127 is 0, 128..254 positive, 255 is 1.0.
/// </summary>
internal static class DynamicMap8
{
    /// <summary>Number of entries.</summary>
    public const int Size = 256;

    /// <summary>The normative map, embedded from nf4-format.md Appendix A (map[254 − i] = −map[i], map[255] = 1).</summary>
    public static readonly float[] Values = FromAppendixA();

    /// <summary>
    /// Builds the map from its definition. For exponent level i = 0..6 take the 2^i midpoints of 2^i + 1 points
    /// spaced linearly from 0.1 to 1, scaled by 10^(i − 6), with both signs; append 0 and 1; sort.
    /// </summary>
    /// <remarks>
    /// The linspace must be computed the way torch's CUDA kernel does it: <c>step = (1 − 0.1) / (n − 1)</c> in
    /// float32, then <c>fma(step, k, 0.1)</c> for the first half and <c>fma(−step, n − 1 − k, 1)</c> for the second
    /// (nvcc contracts <c>start + step·k</c> into an FMA). A plain float32 linspace lands 1–2 ulp off in 21 of the 127
    /// magnitudes; this construction reproduces Appendix A bit for bit (a test checks it).
    /// </remarks>
    public static float[] BuildFromDefinition()
    {
        ReadOnlySpan<float> scales = [1e-6f, 1e-5f, 1e-4f, 1e-3f, 1e-2f, 1e-1f, 1f];
        var values = new List<float>(Size);
        for (int level = 0; level < 7; level++)
        {
            float[] points = CudaLinspace(0.1f, 1f, (1 << level) + 1);
            for (int k = 0; k + 1 < points.Length; k++)
            {
                float mean = (points[k] + points[k + 1]) / 2f;
                float scaled = scales[level] * mean;
                values.Add(scaled);
                values.Add(-scaled);
            }
        }
        values.Add(0f);
        values.Add(1f);
        var map = values.ToArray();
        Array.Sort(map);
        return map;
    }

    /// <summary>
    /// bitsandbytes' unsigned dynamic map (<c>create_dynamic_map(signed=False)</c>, the second Adam moment's
    /// <c>qmap2</c>, optim-8bit.md §2): for level i = 0..6 the 2^(i+1) midpoints of 2^(i+1) + 1 points from 0.1 to 1,
    /// scaled by 10^(i − 6); then 0 and 1; sorted. [0] = 0, [1..254] ascending, [255] = 1.
    /// </summary>
    public static readonly float[] UnsignedValues = BuildUnsignedFromDefinition();

    /// <summary>Builds <see cref="UnsignedValues"/> with the same float32 linspace recipe as <see cref="BuildFromDefinition"/>.</summary>
    public static float[] BuildUnsignedFromDefinition()
    {
        ReadOnlySpan<float> scales = [1e-6f, 1e-5f, 1e-4f, 1e-3f, 1e-2f, 1e-1f, 1f];
        var values = new List<float>(Size);
        for (int level = 0; level < 7; level++)
        {
            float[] points = CudaLinspace(0.1f, 1f, (2 << level) + 1);
            for (int k = 0; k + 1 < points.Length; k++)
                values.Add(scales[level] * ((points[k] + points[k + 1]) / 2f));
        }
        values.Add(0f);
        values.Add(1f);
        var map = values.ToArray();
        Array.Sort(map);
        return map;
    }

    /// <summary>
    /// The CUDA bisection (<c>dQuantize</c>, non-stochastic): 7 halving steps from index 127, then a choice between
    /// the landing index p (even) and its brackets by comparison with float32 midpoints. An exact midpoint between
    /// map[k] and map[k + 1] resolves to whichever index is even; NaN gives 0.
    /// </summary>
    /// <param name="map">The sorted 256-entry map.</param>
    /// <param name="x">The normalized value, nominally in [−1, 1].</param>
    public static byte Quantize(ReadOnlySpan<float> map, float x)
    {
        int pivot = 127, upperPivot = 255, lowerPivot = 0;
        float lower = -1f, upper = 1f;
        float value = map[pivot];
        for (int stride = 64; stride > 0; stride >>= 1)
        {
            if (x > value)
            {
                lowerPivot = pivot;
                lower = value;
                pivot += stride;
            }
            else
            {
                upperPivot = pivot;
                upper = value;
                pivot -= stride;
            }
            value = map[pivot];
        }
        if (upperPivot == 255) upper = map[upperPivot];
        if (lowerPivot == 0) lower = map[lowerPivot];

        if (x > value)
        {
            float midpoint = (upper + value) * 0.5f;
            return (byte)(x > midpoint ? upperPivot : pivot);
        }
        else
        {
            float midpoint = (lower + value) * 0.5f;
            return (byte)(x < midpoint ? lowerPivot : pivot);
        }
    }

    // torch.linspace(start, end, n, dtype=float32) as computed on a CUDA device (FMA-contracted).
    private static float[] CudaLinspace(float start, float end, int n)
    {
        if (n == 1) return [start];
        float step = (end - start) / (n - 1);
        int half = n / 2;
        var points = new float[n];
        for (int k = 0; k < n; k++)
            points[k] = k < half
                ? MathF.FusedMultiplyAdd(step, k, start)
                : MathF.FusedMultiplyAdd(-step, n - 1 - k, end);
        return points;
    }

    private static float[] FromAppendixA()
    {
        // Magnitudes of map[0..126] (map[i] = −m[i], map[254 − i] = +m[i]); map[127] = 0, map[255] = 1.
        ReadOnlySpan<uint> magnitudes =
        [
            0x3F7E3333, 0x3F7A999A, 0x3F770000, 0x3F736666, 0x3F6FCCCD, 0x3F6C3333, 0x3F68999A, 0x3F650000,
            0x3F616666, 0x3F5DCCCD, 0x3F5A3333, 0x3F56999A, 0x3F530000, 0x3F4F6666, 0x3F4BCCCD, 0x3F483333,
            0x3F44999A, 0x3F410000, 0x3F3D6666, 0x3F39CCCD, 0x3F363334, 0x3F32999A, 0x3F2F0000, 0x3F2B6666,
            0x3F27CCCD, 0x3F243334, 0x3F20999A, 0x3F1D0000, 0x3F196666, 0x3F15CCCD, 0x3F123334, 0x3F0E999A,
            0x3F0B0000, 0x3F076666, 0x3F03CCCC, 0x3F003333, 0x3EF93332, 0x3EF20000, 0x3EEACCCC, 0x3EE3999A,
            0x3EDC6666, 0x3ED53333, 0x3ECE0000, 0x3EC6CCCC, 0x3EBF999A, 0x3EB86666, 0x3EB13333, 0x3EAA0000,
            0x3EA2CCCC, 0x3E9B999A, 0x3E946666, 0x3E8D3334, 0x3E860000, 0x3E7D9999, 0x3E6F3333, 0x3E60CCCD,
            0x3E526666, 0x3E440000, 0x3E35999A, 0x3E273333, 0x3E18CCCD, 0x3E0A6666, 0x3DF80000, 0x3DDB3334,
            0x3DC9EB85, 0x3DC428F7, 0x3DBE6667, 0x3DB8A3D7, 0x3DB2E148, 0x3DAD1EB8, 0x3DA75C2A, 0x3DA1999A,
            0x3D9BD70A, 0x3D96147B, 0x3D9051EB, 0x3D8A8F5D, 0x3D84CCCD, 0x3D7E147B, 0x3D728F5D, 0x3D670A3D,
            0x3D5B851F, 0x3D500000, 0x3D447AE1, 0x3D38F5C3, 0x3D2D70A3, 0x3D21EB85, 0x3D166667, 0x3D0AE148,
            0x3CFEB852, 0x3CE7AE15, 0x3CD0A3D7, 0x3CB9999A, 0x3CA28F5D, 0x3C8B851F, 0x3C68F5C3, 0x3C3AE148,
            0x3C1F3B64, 0x3C160418, 0x3C0CCCCD, 0x3C039581, 0x3BF4BC6A, 0x3BE24DD3, 0x3BCFDF3B, 0x3BBD70A4,
            0x3BAB020D, 0x3B989374, 0x3B8624DD, 0x3B676C8A, 0x3B428F5C, 0x3B1DB22D, 0x3AF1A9FC, 0x3AA7EF9D,
            0x3A7765FF, 0x3A59E83E, 0x3A3C6A80, 0x3A1EECC1, 0x3A016F01, 0x39C7E283, 0x398CE705, 0x3923D70B,
            0x38BA1F4B, 0x388AEFB3, 0x38378034, 0x37B24206, 0x370205FF, 0x365A1A94, 0x3513A3B7,
        ];
        var map = new float[Size];
        for (int i = 0; i < magnitudes.Length; i++)
        {
            float m = BitConverter.UInt32BitsToSingle(magnitudes[i]);
            map[i] = -m;
            map[254 - i] = m;
        }
        map[127] = 0f;
        map[255] = 1f;
        return map;
    }
}
