namespace Peft.Net.Core.Kernels;

/// <summary>
/// A register-tiled GEMM micro-kernel: the innermost loop of <see cref="GemmDriver{TKernel}"/>. It multiplies one
/// packed A micro-panel by one packed B micro-panel and writes a full <see cref="MR"/>×<see cref="NR"/> tile of C.
/// Implementations are structs so the driver is specialised per kernel (direct calls, no dispatch). Kernels, packing
/// and drivers are compiled with full optimisation from the first call
/// (<c>MethodImplOptions.AggressiveOptimization</c>): no slow tier-0 loops in the first calls of a run.
/// </summary>
internal unsafe interface IGemmMicroKernel
{
    /// <summary>Rows of the C tile (A values broadcast per k step).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the C tile (a multiple of the vector width).</summary>
    static abstract int NR { get; }

    /// <summary>Whether the hardware runs this kernel natively.</summary>
    static abstract bool IsSupported { get; }

    // a: packed (KC, MR)    b: packed (KC, NR)    c: (MR, NR) with row stride ldc
    /// <summary>
    /// c[r, j] = Σ_p a[p·MR + r]·b[p·NR + j] for r &lt; MR, j &lt; NR, p &lt; kc; added to c when
    /// <paramref name="accumulate"/>, else stored over it. <paramref name="b"/> is 64-byte aligned.
    /// </summary>
    static abstract void Run(int kc, float* a, float* b, float* c, nint ldc, bool accumulate);
}
