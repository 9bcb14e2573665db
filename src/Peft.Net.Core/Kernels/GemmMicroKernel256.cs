using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// AVX2+FMA micro-kernel: a 6×16 tile of C in 12 <c>Vector256</c> accumulators; per k step two B vectors are
/// loaded and each of the 6 A values is broadcast into two fused multiply-adds (15 of the 16 ymm registers).
/// </summary>
internal readonly unsafe struct GemmMicroKernel256 : IGemmMicroKernel
{
    public static int MR => 6;

    public static int NR => 16;

    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    // a: packed (KC, 6)    b: packed (KC, 16)    c: (6, 16) with row stride ldc
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, bool accumulate)
    {
        // The C tile is read (when accumulating) and written only after the k loop, thousands of cycles from now:
        // ask for its lines first, so that a tile evicted since the last KC block is back in L1 by then.
        for (int r = 0; r < 6; r++)
        {
            Sse.Prefetch0(c + r * ldc);
            Sse.Prefetch0(c + r * ldc + 15);
        }
        Vector256<float> c0_0 = default, c0_1 = default;
        Vector256<float> c1_0 = default, c1_1 = default;
        Vector256<float> c2_0 = default, c2_1 = default;
        Vector256<float> c3_0 = default, c3_1 = default;
        Vector256<float> c4_0 = default, c4_1 = default;
        Vector256<float> c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.LoadAligned(b);
            var b1 = Vector256.LoadAligned(b + 8);
            var a0 = Vector256.Create(a[0]);
            c0_0 = Fma.MultiplyAdd(a0, b0, c0_0);
            c0_1 = Fma.MultiplyAdd(a0, b1, c0_1);
            var a1 = Vector256.Create(a[1]);
            c1_0 = Fma.MultiplyAdd(a1, b0, c1_0);
            c1_1 = Fma.MultiplyAdd(a1, b1, c1_1);
            var a2 = Vector256.Create(a[2]);
            c2_0 = Fma.MultiplyAdd(a2, b0, c2_0);
            c2_1 = Fma.MultiplyAdd(a2, b1, c2_1);
            var a3 = Vector256.Create(a[3]);
            c3_0 = Fma.MultiplyAdd(a3, b0, c3_0);
            c3_1 = Fma.MultiplyAdd(a3, b1, c3_1);
            var a4 = Vector256.Create(a[4]);
            c4_0 = Fma.MultiplyAdd(a4, b0, c4_0);
            c4_1 = Fma.MultiplyAdd(a4, b1, c4_1);
            var a5 = Vector256.Create(a[5]);
            c5_0 = Fma.MultiplyAdd(a5, b0, c5_0);
            c5_1 = Fma.MultiplyAdd(a5, b1, c5_1);
            a += 6;
            b += 16;
        }
        StoreRow(c + 0 * ldc, c0_0, c0_1, accumulate);
        StoreRow(c + 1 * ldc, c1_0, c1_1, accumulate);
        StoreRow(c + 2 * ldc, c2_0, c2_1, accumulate);
        StoreRow(c + 3 * ldc, c3_0, c3_1, accumulate);
        StoreRow(c + 4 * ldc, c4_0, c4_1, accumulate);
        StoreRow(c + 5 * ldc, c5_0, c5_1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* row, Vector256<float> v0, Vector256<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector256.Load(row);
            v1 += Vector256.Load(row + 8);
        }
        v0.Store(row);
        v1.Store(row + 8);
    }
}
