using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// AVX-512 micro-kernel: a 12×32 tile of C in 24 <c>Vector512</c> accumulators; per k step two B vectors are
/// loaded and each of the 12 A values is broadcast into two fused multiply-adds. Written with the portable
/// <c>Vector512</c> API (one <c>vfmadd</c> per call on AVX-512), so the same code also runs, emulated and slowly, on a CPU
/// without AVX-512: the tests check it against the reference everywhere (<see cref="Gemm.AllowEmulatedPathForTests"/>).
/// </summary>
internal readonly unsafe partial struct GemmMicroKernel512 : IGemmMicroKernel
{
    public static int MR => 12;

    public static int NR => 32;

    public static bool IsSupported => Avx512F.IsSupported;

    // a: packed (KC, 12)    b: packed (KC, 32)    c: (12, 32) with row stride ldc
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, bool accumulate)
    {
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        Vector512<float> c8_0 = default, c8_1 = default;
        Vector512<float> c9_0 = default, c9_1 = default;
        Vector512<float> c10_0 = default, c10_1 = default;
        Vector512<float> c11_0 = default, c11_1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadAligned(b);
            var b1 = Vector512.LoadAligned(b + 16);
            var a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);
            var a1 = Vector512.Create(a[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            var a2 = Vector512.Create(a[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            var a3 = Vector512.Create(a[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            var a4 = Vector512.Create(a[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a4, b1, c4_1);
            var a5 = Vector512.Create(a[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a5, b1, c5_1);
            var a6 = Vector512.Create(a[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a6, b1, c6_1);
            var a7 = Vector512.Create(a[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a7, b1, c7_1);
            var a8 = Vector512.Create(a[8]);
            c8_0 = Vector512.FusedMultiplyAdd(a8, b0, c8_0);
            c8_1 = Vector512.FusedMultiplyAdd(a8, b1, c8_1);
            var a9 = Vector512.Create(a[9]);
            c9_0 = Vector512.FusedMultiplyAdd(a9, b0, c9_0);
            c9_1 = Vector512.FusedMultiplyAdd(a9, b1, c9_1);
            var a10 = Vector512.Create(a[10]);
            c10_0 = Vector512.FusedMultiplyAdd(a10, b0, c10_0);
            c10_1 = Vector512.FusedMultiplyAdd(a10, b1, c10_1);
            var a11 = Vector512.Create(a[11]);
            c11_0 = Vector512.FusedMultiplyAdd(a11, b0, c11_0);
            c11_1 = Vector512.FusedMultiplyAdd(a11, b1, c11_1);
            a += 12;
            b += 32;
        }
        StoreRow(c + 0 * ldc, c0_0, c0_1, accumulate);
        StoreRow(c + 1 * ldc, c1_0, c1_1, accumulate);
        StoreRow(c + 2 * ldc, c2_0, c2_1, accumulate);
        StoreRow(c + 3 * ldc, c3_0, c3_1, accumulate);
        StoreRow(c + 4 * ldc, c4_0, c4_1, accumulate);
        StoreRow(c + 5 * ldc, c5_0, c5_1, accumulate);
        StoreRow(c + 6 * ldc, c6_0, c6_1, accumulate);
        StoreRow(c + 7 * ldc, c7_0, c7_1, accumulate);
        StoreRow(c + 8 * ldc, c8_0, c8_1, accumulate);
        StoreRow(c + 9 * ldc, c9_0, c9_1, accumulate);
        StoreRow(c + 10 * ldc, c10_0, c10_1, accumulate);
        StoreRow(c + 11 * ldc, c11_0, c11_1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* row, Vector512<float> v0, Vector512<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector512.Load(row);
            v1 += Vector512.Load(row + 16);
        }
        v0.Store(row);
        v1.Store(row + 16);
    }
}
