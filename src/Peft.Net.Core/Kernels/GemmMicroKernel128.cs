using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Portable SIMD micro-kernel: a 6×8 tile of C in 12 <c>Vector128</c> accumulators (SSE, NEON, WASM SIMD).
/// Multiply-adds fuse where the hardware can (<see cref="Vector128.MultiplyAddEstimate(Vector128{float}, Vector128{float}, Vector128{float})"/>).
/// </summary>
internal readonly unsafe struct GemmMicroKernel128 : IGemmMicroKernel
{
    public static int MR => 6;

    public static int NR => 8;

    public static bool IsSupported => Vector128.IsHardwareAccelerated;

    // a: packed (KC, 6)    b: packed (KC, 8)    c: (6, 8) with row stride ldc
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, bool accumulate)
    {
        Vector128<float> c0_0 = default, c0_1 = default;
        Vector128<float> c1_0 = default, c1_1 = default;
        Vector128<float> c2_0 = default, c2_1 = default;
        Vector128<float> c3_0 = default, c3_1 = default;
        Vector128<float> c4_0 = default, c4_1 = default;
        Vector128<float> c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            var a0 = Vector128.Create(a[0]);
            c0_0 = Vector128.MultiplyAddEstimate(a0, b0, c0_0);
            c0_1 = Vector128.MultiplyAddEstimate(a0, b1, c0_1);
            var a1 = Vector128.Create(a[1]);
            c1_0 = Vector128.MultiplyAddEstimate(a1, b0, c1_0);
            c1_1 = Vector128.MultiplyAddEstimate(a1, b1, c1_1);
            var a2 = Vector128.Create(a[2]);
            c2_0 = Vector128.MultiplyAddEstimate(a2, b0, c2_0);
            c2_1 = Vector128.MultiplyAddEstimate(a2, b1, c2_1);
            var a3 = Vector128.Create(a[3]);
            c3_0 = Vector128.MultiplyAddEstimate(a3, b0, c3_0);
            c3_1 = Vector128.MultiplyAddEstimate(a3, b1, c3_1);
            var a4 = Vector128.Create(a[4]);
            c4_0 = Vector128.MultiplyAddEstimate(a4, b0, c4_0);
            c4_1 = Vector128.MultiplyAddEstimate(a4, b1, c4_1);
            var a5 = Vector128.Create(a[5]);
            c5_0 = Vector128.MultiplyAddEstimate(a5, b0, c5_0);
            c5_1 = Vector128.MultiplyAddEstimate(a5, b1, c5_1);
            a += 6;
            b += 8;
        }
        StoreRow(c, c0_0, c0_1, accumulate);
        StoreRow(c + ldc, c1_0, c1_1, accumulate);
        StoreRow(c + 2 * ldc, c2_0, c2_1, accumulate);
        StoreRow(c + 3 * ldc, c3_0, c3_1, accumulate);
        StoreRow(c + 4 * ldc, c4_0, c4_1, accumulate);
        StoreRow(c + 5 * ldc, c5_0, c5_1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* row, Vector128<float> v0, Vector128<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector128.Load(row);
            v1 += Vector128.Load(row + 4);
        }
        v0.Store(row);
        v1.Store(row + 4);
    }
}
