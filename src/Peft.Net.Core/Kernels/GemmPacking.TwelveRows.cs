using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

internal static unsafe partial class GemmPacking
{
    /// <summary>Tests and benchmarks only: pack 12-row panels with the 4×4 blocks of the general path.</summary>
    internal static bool UseFourRowBlocksForTests;

    /// <summary>Whether full 12-row panels run <see cref="PackTwelveRows"/> here (AVX).</summary>
    internal static bool UsesTwelveRowTransposes => Avx.IsSupported && !UseFourRowBlocksForTests;

    // src: (12, ≥ kc) with row stride ld → dst: (kc, 12), dst[p, r] = src[r, p]
    /// <summary>
    /// A full panel of 12 rows (the AVX-512 micro-kernel's A panel) transposed 8 columns at a time: rows 0–7 as one
    /// 8×8 block of 256-bit registers, rows 8–11 as two 4×4 blocks in the lanes of four more, so each panel row of
    /// 12 floats is written as one 8-float and one 4-float store (the 4×4 blocks of <see cref="PackRows"/> write three
    /// 4-float stores, and load and shuffle twice as much). A copy: the same values in the same places.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackTwelveRows(float* src, nint ld, int kc, float* dst)
    {
        const int width = 12;
        float* s0 = src, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld, s4 = s3 + ld, s5 = s4 + ld;
        float* s6 = s5 + ld, s7 = s6 + ld, s8 = s7 + ld, s9 = s8 + ld, s10 = s9 + ld, s11 = s10 + ld;
        int p = 0;
        for (; p <= kc - 8; p += 8, dst += 8 * width)
        {
            // rows 0–7 × columns p..p+7 → 8 panel rows of their first 8 floats
            var (o0, o1, o2, o3) = TransposeHalves(Avx.LoadVector256(s0 + p), Avx.LoadVector256(s1 + p), Avx.LoadVector256(s2 + p), Avx.LoadVector256(s3 + p));
            var (o4, o5, o6, o7) = TransposeHalves(Avx.LoadVector256(s4 + p), Avx.LoadVector256(s5 + p), Avx.LoadVector256(s6 + p), Avx.LoadVector256(s7 + p));
            // oc: lane 0 = column p + c of rows 0–3 (of 4–7 for o4..o7), lane 1 = column p + 4 + c
            Avx.Store(dst, Avx.Permute2x128(o0, o4, 0x20));
            Avx.Store(dst + width, Avx.Permute2x128(o1, o5, 0x20));
            Avx.Store(dst + 2 * width, Avx.Permute2x128(o2, o6, 0x20));
            Avx.Store(dst + 3 * width, Avx.Permute2x128(o3, o7, 0x20));
            Avx.Store(dst + 4 * width, Avx.Permute2x128(o0, o4, 0x31));
            Avx.Store(dst + 5 * width, Avx.Permute2x128(o1, o5, 0x31));
            Avx.Store(dst + 6 * width, Avx.Permute2x128(o2, o6, 0x31));
            Avx.Store(dst + 7 * width, Avx.Permute2x128(o3, o7, 0x31));
            // rows 8–11 → the last 4 floats of the same 8 panel rows
            var (v0, v1, v2, v3) = TransposeHalves(Avx.LoadVector256(s8 + p), Avx.LoadVector256(s9 + p), Avx.LoadVector256(s10 + p), Avx.LoadVector256(s11 + p));
            Sse.Store(dst + 8, v0.GetLower());
            Sse.Store(dst + width + 8, v1.GetLower());
            Sse.Store(dst + 2 * width + 8, v2.GetLower());
            Sse.Store(dst + 3 * width + 8, v3.GetLower());
            Sse.Store(dst + 4 * width + 8, v0.GetUpper());
            Sse.Store(dst + 5 * width + 8, v1.GetUpper());
            Sse.Store(dst + 6 * width + 8, v2.GetUpper());
            Sse.Store(dst + 7 * width + 8, v3.GetUpper());
        }
        for (; p < kc; p++, dst += width)
        {
            dst[0] = s0[p]; dst[1] = s1[p]; dst[2] = s2[p]; dst[3] = s3[p]; dst[4] = s4[p]; dst[5] = s5[p];
            dst[6] = s6[p]; dst[7] = s7[p]; dst[8] = s8[p]; dst[9] = s9[p]; dst[10] = s10[p]; dst[11] = s11[p];
        }
    }

    // r0..r3: 8 columns of 4 rows → c0..c3: lane 0 = column c of the 4 rows, lane 1 = column 4 + c
    /// <summary>The 4×4 transposes of the two 128-bit halves of four rows at once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) TransposeHalves(
        Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3)
    {
        var t0 = Avx.UnpackLow(r0, r1);  // r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]
        var t1 = Avx.UnpackHigh(r0, r1); // r0[2] r1[2] r0[3] r1[3] | r0[6] …
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        return (Avx.Shuffle(t0, t2, 0x44), Avx.Shuffle(t0, t2, 0xEE), Avx.Shuffle(t1, t3, 0x44), Avx.Shuffle(t1, t3, 0xEE));
    }
}
