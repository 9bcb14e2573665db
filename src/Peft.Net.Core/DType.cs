namespace Peft.Net.Core;

/// <summary>
/// Element type of a tensor's storage. Compute is always float32 on the CPU; <see cref="F16"/> and
/// <see cref="BF16"/> exist so frozen weights can stay half-size in memory, and the integer and boolean
/// types exist so safetensors files round-trip.
/// </summary>
public enum DType
{
    /// <summary>IEEE 754 binary32.</summary>
    F32,
    /// <summary>IEEE 754 binary16 (<see cref="System.Half"/>).</summary>
    F16,
    /// <summary>bfloat16: the upper 16 bits of a binary32 (<see cref="Core.BFloat16"/>).</summary>
    BF16,
    /// <summary>Unsigned 8-bit integer (packed 4-bit codes, quantization maps).</summary>
    U8,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Boolean stored as one byte (0 or 1).</summary>
    Bool,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeInfo
{
    /// <summary>Size in bytes of one element of <paramref name="dtype"/>.</summary>
    public static int SizeOf(this DType dtype) => dtype switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 => 2,
        DType.U8 or DType.I8 or DType.Bool => 1,
        DType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>True for the floating types a tensor can compute with or be converted from (F32, F16, BF16).</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.F32 or DType.F16 or DType.BF16;

    /// <summary>The safetensors name of the dtype ("F32", "BF16", "U8", "BOOL", …).</summary>
    public static string ToSafetensorsName(this DType dtype) => dtype == DType.Bool ? "BOOL" : dtype.ToString();
}
