using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Quantization;

/// <summary>The code paths of the 4-bit kernels; tests run every one this machine supports against the reference.</summary>
internal enum KernelIsa
{
    /// <summary>Portable scalar code.</summary>
    Scalar,

    /// <summary>256-bit vectors (AVX2).</summary>
    Avx2,

    /// <summary>512-bit vectors (AVX-512F), when the runtime prefers them.</summary>
    Avx512,
}

/// <summary>Which <see cref="KernelIsa"/> values this process can run.</summary>
internal static class KernelIsaInfo
{
    /// <summary>Every supported path, slowest first.</summary>
    public static readonly KernelIsa[] Available = FindAvailable();

    /// <summary>The fastest supported path.</summary>
    public static KernelIsa Best => Available[^1];

    private static KernelIsa[] FindAvailable()
    {
        var isas = new List<KernelIsa> { KernelIsa.Scalar };
        if (Vector256.IsHardwareAccelerated && Avx2.IsSupported) isas.Add(KernelIsa.Avx2);
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported) isas.Add(KernelIsa.Avx512);
        return isas.ToArray();
    }
}
