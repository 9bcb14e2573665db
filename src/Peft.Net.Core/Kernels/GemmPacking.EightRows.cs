using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

internal static unsafe partial class GemmPacking
{
    /// <summary>Tests and benchmarks only: pack row panels of any width with the 4×4 blocks alone (no 8-row groups).</summary>
    internal static bool UseFourRowGroupsForTests;

    /// <summary>Whether <see cref="PackRows(float*, nint, int, int, int, float*)"/> packs 8 rows at a time here (AVX).</summary>
    internal static bool UsesEightRowTransposes => Avx.IsSupported && !UseFourRowGroupsForTests;

    // src: (count, ≥ kc) rows ld apart → dst: (kc, w) panel rows, dst[p, r] = src[r, p] for r < 8·⌊count / 8⌋;
    // with Prefetching, rows src + ahead .. are asked for as in PackRows. Returns the rows packed.
    /// <summary>
    /// The 8-row groups of a row panel (a transposed weight's 32-row B panel, attention's 64-key blocks), transposed 8
    /// columns at a time: each panel row gets one 8-float store per group, where the 4×4 blocks write two 4-float
    /// stores and load and shuffle twice as much. A copy: the same values in the same places.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int PackEightRowGroups<TPrefetch>(float* src, nint ld, int count, int kc, nint w, float* dst, nint ahead)
        where TPrefetch : struct, IPrefetchChoice
    {
        int r = 0;
        for (; r <= count - 8; r += 8)
        {
            float* s0 = src + r * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld;
            float* s4 = s3 + ld, s5 = s4 + ld, s6 = s5 + ld, s7 = s6 + ld;
            float* d = dst + r; // row p of the panel, at this group's first column
            int p = 0;
            for (; p <= kc - 8; p += 8, d += 8 * w)
            {
                if (TPrefetch.Prefetches && (p & 15) == 0)
                {
                    Sse.Prefetch0(s0 + ahead + p); Sse.Prefetch0(s1 + ahead + p);
                    Sse.Prefetch0(s2 + ahead + p); Sse.Prefetch0(s3 + ahead + p);
                    Sse.Prefetch0(s4 + ahead + p); Sse.Prefetch0(s5 + ahead + p);
                    Sse.Prefetch0(s6 + ahead + p); Sse.Prefetch0(s7 + ahead + p);
                }
                var (o0, o1, o2, o3) = TransposeHalves(Avx.LoadVector256(s0 + p), Avx.LoadVector256(s1 + p), Avx.LoadVector256(s2 + p), Avx.LoadVector256(s3 + p));
                var (o4, o5, o6, o7) = TransposeHalves(Avx.LoadVector256(s4 + p), Avx.LoadVector256(s5 + p), Avx.LoadVector256(s6 + p), Avx.LoadVector256(s7 + p));
                Avx.Store(d, Avx.Permute2x128(o0, o4, 0x20));
                Avx.Store(d + w, Avx.Permute2x128(o1, o5, 0x20));
                Avx.Store(d + 2 * w, Avx.Permute2x128(o2, o6, 0x20));
                Avx.Store(d + 3 * w, Avx.Permute2x128(o3, o7, 0x20));
                Avx.Store(d + 4 * w, Avx.Permute2x128(o0, o4, 0x31));
                Avx.Store(d + 5 * w, Avx.Permute2x128(o1, o5, 0x31));
                Avx.Store(d + 6 * w, Avx.Permute2x128(o2, o6, 0x31));
                Avx.Store(d + 7 * w, Avx.Permute2x128(o3, o7, 0x31));
            }
            for (; p < kc; p++, d += w)
            {
                d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p]; d[4] = s4[p]; d[5] = s5[p]; d[6] = s6[p]; d[7] = s7[p];
            }
        }
        return r;
    }
}
