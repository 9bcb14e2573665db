using System.Runtime.CompilerServices;

namespace Peft.Net.Quantization;

/// <summary>
/// The FP4 (e2m1) code book as bitsandbytes' CUDA kernels define it (nf4-format.md §3). Codes are in
/// bit-pattern order: bit 3 is the sign, the low three bits index <see cref="Magnitudes"/>.
/// </summary>
internal static class Fp4Reference
{
    /// <summary>Magnitude of the low three bits: [0, 0.0625, 8, 12, 4, 6, 2, 3] / 12 in float32.</summary>
    public static readonly float[] Magnitudes = Nf4Reference.FromBits(
        [0x00000000, 0x3BAAAAAB, 0x3F2AAAAB, 0x3F800000, 0x3EAAAAAB, 0x3F000000, 0x3E2AAAAB, 0x3E800000]);

    /// <summary>
    /// The CUDA literals of <c>dQuantizeFP4</c>, ascending, between magnitudes in the order
    /// 000 &lt; 001 &lt; 110 &lt; 111 &lt; 100 &lt; 101 &lt; 010 &lt; 011. Not all are float32 midpoints.
    /// </summary>
    public static readonly float[] Thresholds = Nf4Reference.FromBits(
        [0x3B2AAAB9, 0x3DB00000, 0x3E555555, 0x3E955555, 0x3ED55556, 0x3F155550, 0x3F555555]);

    /// <summary>Low three bits of the code for the k-th magnitude in ascending order.</summary>
    private static readonly byte[] MagnitudeCodeByRank = [0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011];

    /// <summary>The 16 decoded values in code order (the serialized <c>quant_map</c>); code 8 is −0.0.</summary>
    public static readonly float[] Table = BuildTable();

    /// <summary>
    /// The code of a normalized value: sign bit iff x &lt; 0 (so −0.0 and NaN are unsigned), magnitude by the
    /// strict-greater comparisons of the CUDA tree on |x| (a tie takes the smaller magnitude; NaN gives 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Encode(float normalized)
    {
        int sign = normalized < 0 ? 0b1000 : 0;
        float magnitude = MathF.Abs(normalized);
        int rank = 0;
        foreach (float t in Thresholds)
            if (magnitude > t) rank++;
        return (byte)(sign | MagnitudeCodeByRank[rank]);
    }

    /// <summary>The value of a code (0..15): the magnitude of its low bits, negated when bit 3 is set.</summary>
    public static float Decode(int code)
    {
        float magnitude = Magnitudes[code & 7];
        return (code & 0b1000) != 0 ? -magnitude : magnitude;
    }

    private static float[] BuildTable()
    {
        var table = new float[16];
        for (int code = 0; code < 16; code++) table[code] = Decode(code);
        return table;
    }
}
