using System.Runtime.CompilerServices;

namespace Peft.Net.Quantization;

/// <summary>
/// The NF4 code book as bitsandbytes' CUDA kernels define it (nf4-format.md §1, §2.3): the 16 values and the
/// 15 thresholds the quantizer compares against. Scalar and obviously correct: this is the specification the
/// vectorised kernels are tested against.
/// </summary>
internal static class Nf4Reference
{
    /// <summary>The 16 NF4 values, sorted ascending; code 7 is exactly 0 (nf4-format.md §1, from the hex column).</summary>
    public static readonly float[] Table = FromBits(
    [
        0xBF800000, 0xBF3239B1, 0xBF066B30, 0xBECA32A0, 0xBE91A24D, 0xBE3D353F, 0xBDBA7871, 0x00000000,
        0x3DA2FAFF, 0x3E24CAE3, 0x3E7C04DD, 0x3EAD033A, 0x3EE1A4B8, 0x3F1007AB, 0x3F3913B3, 0x3F800000,
    ]);

    /// <summary>
    /// t[i] separates code i from code i + 1: the float32 values of the literals in <c>dQuantizeNF4</c>, each equal
    /// to the float32 midpoint of its neighbours (nf4-format.md §2.3).
    /// </summary>
    public static readonly float[] Thresholds = FromBits(
    [
        0xBF591CD8, 0xBF1C5270, 0xBEEB8480, 0xBEADEA76, 0xBE703CEC, 0xBE0D38BC, 0xBD3A7871,
        0x3D22FAFF, 0x3DF64862, 0x3E5067E0, 0x3E9582D4, 0x3EC753F9, 0x3F006D04, 0x3F248DAF, 0x3F5C89DA,
    ]);

    /// <summary>
    /// The code of a normalized value: the number of thresholds strictly below it. A value equal to a threshold
    /// takes the lower code, NaN gives 0 and −0.0 gives 7, exactly as the CUDA comparison tree does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Encode(float normalized)
    {
        byte code = 0;
        foreach (float t in Thresholds)
            if (normalized > t) code++;
        return code;
    }

    /// <summary>The value of a code (0..15).</summary>
    public static float Decode(int code) => Table[code];

    internal static float[] FromBits(uint[] bits) =>
        Array.ConvertAll(bits, b => BitConverter.UInt32BitsToSingle(b));
}
