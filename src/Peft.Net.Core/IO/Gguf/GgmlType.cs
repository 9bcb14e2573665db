namespace Peft.Net.Core.IO.Gguf;

/// <summary>The ggml tensor types a GGUF file can name (ids as in ggml.h); Peft.Net reads the ones listed in <see cref="GgmlTypeInfo.CanDequantize"/>.</summary>
public enum GgmlType
{
    /// <summary>IEEE binary32.</summary>
    F32 = 0,
    /// <summary>IEEE binary16.</summary>
    F16 = 1,
    /// <summary>Blocks of 32: f16 scale, 16 bytes of 4-bit codes (value = d·(q − 8)).</summary>
    Q4_0 = 2,
    /// <summary>Blocks of 32: f16 scale and min, 4-bit codes.</summary>
    Q4_1 = 3,
    /// <summary>Blocks of 32, 5-bit.</summary>
    Q5_0 = 6,
    /// <summary>Blocks of 32, 5-bit with min.</summary>
    Q5_1 = 7,
    /// <summary>Blocks of 32: f16 scale, 32 signed bytes (value = d·q).</summary>
    Q8_0 = 8,
    /// <summary>Blocks of 32, 8-bit with sum (activations only).</summary>
    Q8_1 = 9,
    /// <summary>K-quant, 2-bit.</summary>
    Q2_K = 10,
    /// <summary>K-quant, 3-bit.</summary>
    Q3_K = 11,
    /// <summary>K-quant super-blocks of 256: f16 d and dmin, 12 bytes of 6-bit scales/mins, 128 bytes of 4-bit codes.</summary>
    Q4_K = 12,
    /// <summary>K-quant, 5-bit.</summary>
    Q5_K = 13,
    /// <summary>K-quant super-blocks of 256: 128 bytes low nibbles, 64 bytes high bits, 16 signed scales, f16 d.</summary>
    Q6_K = 14,
    /// <summary>K-quant, 8-bit (activations only).</summary>
    Q8_K = 15,
    /// <summary>8-bit integer.</summary>
    I8 = 24,
    /// <summary>16-bit integer.</summary>
    I16 = 25,
    /// <summary>32-bit integer.</summary>
    I32 = 26,
    /// <summary>64-bit integer.</summary>
    I64 = 27,
    /// <summary>IEEE binary64.</summary>
    F64 = 28,
    /// <summary>bfloat16.</summary>
    BF16 = 30,
}

/// <summary>Block sizes and byte sizes of the ggml types (constants.py <c>GGML_QUANT_SIZES</c>).</summary>
public static class GgmlTypeInfo
{
    /// <summary>(elements per block, bytes per block) of <paramref name="type"/>, or null when the type id is unknown (IQ types and others are reported as unknown).</summary>
    public static (int BlockSize, int TypeSize)? Layout(GgmlType type) => type switch
    {
        GgmlType.F32 => (1, 4),
        GgmlType.F16 => (1, 2),
        GgmlType.Q4_0 => (32, 18),
        GgmlType.Q4_1 => (32, 20),
        GgmlType.Q5_0 => (32, 22),
        GgmlType.Q5_1 => (32, 24),
        GgmlType.Q8_0 => (32, 34),
        GgmlType.Q8_1 => (32, 36),
        GgmlType.Q2_K => (256, 84),
        GgmlType.Q3_K => (256, 110),
        GgmlType.Q4_K => (256, 144),
        GgmlType.Q5_K => (256, 176),
        GgmlType.Q6_K => (256, 210),
        GgmlType.Q8_K => (256, 292),
        GgmlType.I8 => (1, 1),
        GgmlType.I16 => (1, 2),
        GgmlType.I32 => (1, 4),
        GgmlType.I64 => (1, 8),
        GgmlType.F64 => (1, 8),
        GgmlType.BF16 => (1, 2),
        _ => null,
    };

    /// <summary>True for the types Peft.Net turns into float32: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K.</summary>
    public static bool CanDequantize(GgmlType type) =>
        type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_K or GgmlType.Q6_K;
}
