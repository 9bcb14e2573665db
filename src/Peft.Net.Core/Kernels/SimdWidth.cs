namespace Peft.Net.Core.Kernels;

/// <summary>
/// The SIMD register widths a width-generic kernel (written over <see cref="Simd.IFloatVector{TSelf}"/>) can be
/// specialised for. <see cref="Auto"/> lets the kernel pick the widest one the CPU accelerates (tests name each
/// width to exercise every path on one machine).
/// </summary>
internal enum SimdWidth
{
    /// <summary>The widest hardware-accelerated width that suits the problem.</summary>
    Auto,

    /// <summary>One float at a time: the portable fallback.</summary>
    Scalar,

    /// <summary>4 floats (SSE / AdvSimd).</summary>
    Vector128,

    /// <summary>8 floats (AVX2).</summary>
    Vector256,

    /// <summary>16 floats (AVX-512).</summary>
    Vector512,
}
