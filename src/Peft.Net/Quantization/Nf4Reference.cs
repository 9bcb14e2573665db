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
    /// The decimal literals of bitsandbytes' <c>dQuantizeNF4</c> (<c>csrc/kernels.cu</c>), t0 … t14.
    /// </summary>
    public static readonly string[] ThresholdLiterals =
    [
        "-0.8480964004993439", "-0.6106329262256622", "-0.4599952697753906", "-0.33967943489551544",
        "-0.23460740596055984", "-0.13791173323988914", "-0.045525018125772476", "0.03979014977812767",
        "0.1202552504837513", "0.2035212516784668", "0.2920137718319893", "0.3893125355243683",
        "0.5016634166240692", "0.6427869200706482", "0.8614784181118011",
    ];

    /// <summary>
    /// t[i] separates code i from code i + 1: the float32 values nvcc compiles the literals of <c>dQuantizeNF4</c> to,
    /// rounding each decimal directly to float32 (nf4-format.md §2.3, corrected). t0, t8, t12 and t14 are one ulp
    /// from the float32 midpoint of their neighbours (0xBF591CD9, 0x3DF64863, 0x3F006D03, 0x3F5C89D9, not …D8, …62,
    /// …04, …DA), so an input exactly equal to one of them gets the code bitsandbytes' CUDA kernel gives it.
    /// </summary>
    public static readonly float[] Thresholds = FromBits(
    [
        0xBF591CD9, 0xBF1C5270, 0xBEEB8480, 0xBEADEA76, 0xBE703CEC, 0xBE0D38BC, 0xBD3A7871,
        0x3D22FAFF, 0x3DF64863, 0x3E5067E0, 0x3E9582D4, 0x3EC753F9, 0x3F006D03, 0x3F248DAF, 0x3F5C89D9,
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
