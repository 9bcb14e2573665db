using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Attributes;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// How close the AVX2 micro-kernel comes to the core's fused multiply-add peak, with everything in L1: the same
/// number of 8-wide FMAs (12 per k step, 256 k steps, <see cref="Calls"/> calls) once as twelve independent register
/// chains (the peak: nothing but FMAs) and once as <see cref="GemmMicroKernel256"/> on one packed 6×16 tile (two B
/// loads and six broadcasts per step, as in a GEMM). The ratio of their times is the kernel's fraction of peak; a GEMM
/// can reach at most that, and so can any library's AVX2 kernel of this shape on the same core.
/// Run: <c>dotnet run -c Release --project benchmarks/Peft.Net.Benchmarks -- --filter *MicroKernelCeiling*</c>.
/// </summary>
[ShortRunJob]
public unsafe class MicroKernelCeilingBenchmarks
{
    private const int Depth = 256, Calls = 65536;

    private float[] _a = [], _b = [], _c = [];

    [GlobalSetup]
    public void Setup()
    {
        if (!GemmMicroKernel256.IsSupported)
            throw new PlatformNotSupportedException("MicroKernelCeilingBenchmarks needs AVX2 and FMA.");
        _a = Enumerable.Repeat(1e-3f, Depth * GemmMicroKernel256.MR + 16).ToArray();
        _b = Enumerable.Repeat(1e-3f, Depth * GemmMicroKernel256.NR + 16).ToArray();
        _c = new float[GemmMicroKernel256.MR * GemmMicroKernel256.NR + 16];
    }

    /// <summary>12 × 256 × <see cref="Calls"/> FMAs on twelve independent register chains.</summary>
    [Benchmark(Baseline = true)]
    public float FmaPeak() => FmaChains(Depth * Calls);

    /// <summary>The micro-kernel on one L1-resident tile, <see cref="Calls"/> times: the same FMA count.</summary>
    [Benchmark]
    public void MicroKernelInL1()
    {
        fixed (float* a = _a, b = _b, c = _c)
        {
            float* pa = Align(a), pb = Align(b);
            for (int i = 0; i < Calls; i++) GemmMicroKernel256.Run(Depth, pa, pb, c, GemmMicroKernel256.NR, accumulate: false);
        }
    }

    private static float* Align(float* p) => (float*)(((nuint)p + 63) & ~(nuint)63);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaChains(int steps)
    {
        var x = Vector256.Create(0.9999f);
        var y = Vector256.Create(1e-4f);
        Vector256<float> c0 = y, c1 = y, c2 = y, c3 = y, c4 = y, c5 = y, c6 = y, c7 = y, c8 = y, c9 = y, c10 = y, c11 = y;
        for (int i = 0; i < steps; i++)
        {
            c0 = Fma.MultiplyAdd(c0, x, y); c1 = Fma.MultiplyAdd(c1, x, y); c2 = Fma.MultiplyAdd(c2, x, y);
            c3 = Fma.MultiplyAdd(c3, x, y); c4 = Fma.MultiplyAdd(c4, x, y); c5 = Fma.MultiplyAdd(c5, x, y);
            c6 = Fma.MultiplyAdd(c6, x, y); c7 = Fma.MultiplyAdd(c7, x, y); c8 = Fma.MultiplyAdd(c8, x, y);
            c9 = Fma.MultiplyAdd(c9, x, y); c10 = Fma.MultiplyAdd(c10, x, y); c11 = Fma.MultiplyAdd(c11, x, y);
        }
        return Vector256.Sum(((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11)));
    }
}
