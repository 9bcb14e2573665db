using Peft.Net.Core;

namespace Peft.Net.Cuda.Interop;

/// <summary>
/// Entry-point names of the kernels in <c>kernels/*.cu</c> and their launch shapes (the constants mirror
/// <c>PN_DEQUANT_BLOCK_THREADS</c>, <c>PN_GEMV_BLOCK_THREADS</c> and the per-thread output counts of
/// <c>dequant_body.cuh</c>; the host emulation launches with the same shapes).
/// </summary>
internal static class KernelNames
{
    public const string DequantModule = "dequant4";
    public const string GemvModule = "gemv4";

    /// <summary>Threads per block of the dequantization kernels.</summary>
    public const int DequantBlockThreads = 256;

    /// <summary>Threads per block of the GEMV kernels: one warp per output row.</summary>
    public const int GemvBlockThreads = 128;

    /// <summary>Output rows per GEMV thread block.</summary>
    public const int GemvRowsPerBlock = GemvBlockThreads / 32;

    /// <summary>Outputs one dequantization thread writes (16 bytes): 4 float32 or 8 float16/bfloat16.</summary>
    public static int DequantValuesPerThread(DType dtype) => dtype == DType.F32 ? 4 : 8;

    /// <summary>The dequantization kernel for an output type and absmax kind.</summary>
    public static string Dequant(DType dtype, bool nested) =>
        $"pn_dequant4_{DTypeSuffix(dtype)}_{(nested ? "nested" : "plain")}";

    /// <summary>The GEMV kernel for an absmax kind.</summary>
    public static string Gemv(bool nested) => nested ? "pn_gemv4_nested" : "pn_gemv4_plain";

    /// <summary>Every kernel of a PTX module.</summary>
    public static IEnumerable<string> InModule(string module) => module switch
    {
        DequantModule => from dtype in new[] { DType.F32, DType.F16, DType.BF16 }
                         from nested in new[] { false, true }
                         select Dequant(dtype, nested),
        GemvModule => [Gemv(false), Gemv(true)],
        _ => [],
    };

    private static string DTypeSuffix(DType dtype) => dtype switch
    {
        DType.F32 => "f32",
        DType.F16 => "f16",
        DType.BF16 => "bf16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "4-bit dequantization writes F32, F16 or BF16."),
    };
}
