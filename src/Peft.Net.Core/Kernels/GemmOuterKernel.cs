using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// C (+)= Aᵀ·B for a few rows of C, with A stored (K, M) and B (K, N), both row-major: a LoRA weight gradient
/// dA[R, in] = duᵀ·x with du (tokens, R) and x (tokens, in). Each element of B meets only M rows of A, so packing B
/// (a copy of all of it) would cost more than the product; B is streamed in place instead. For each run of W columns
/// (one register), <see cref="Rows"/> accumulators walk all K rows of B: one vector load of B and one broadcast of
/// A[k, r] per fused multiply-add, eight independent chains. Every element of C is the same chain of fused
/// multiply-adds over k in order, whether a vector lane or the scalar column tail computes it, so any split of the
/// columns (a multiple of W) gives the same bits.
/// </summary>
internal static unsafe class GemmOuterKernel
{
    /// <summary>Rows of C per pass over B: one accumulator register each.</summary>
    public const int Rows = 8;

    /// <summary>How many rows of B ahead each step asks for.</summary>
    private const int PrefetchRows = 48;

    // a: (K, ≥ 8) rows lda apart (columns past m are read but not stored)    b: (K, ≥ n1) rows ldb apart
    // c: (m, ≥ n1) rows ldc apart; columns [n0, n1), m ≤ Rows
    /// <summary>c[r, j] (+)= Σ_p a[p·lda + r]·b[p·ldb + j] for r &lt; <paramref name="m"/> and j in [n0, n1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Columns<TVector>(int k, int m, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        int n0, int n1, bool accumulate)
        where TVector : struct, IFloatVector<TVector>
    {
        int j = TVector.Count == 8 && Fma.IsSupported
            ? Columns256(k, m, a, lda, b, ldb, c, ldc, n0, n1, accumulate)
            : VectorColumns<TVector>(k, m, a, lda, b, ldb, c, ldc, n0, n1, accumulate);
        for (; j < n1; j++) // column tail: each lane's chain, one column at a time
            for (int r = 0; r < m; r++)
            {
                float s = 0;
                for (int p = 0; p < k; p++) s = MathF.FusedMultiplyAdd(a[p * lda + r], b[p * ldb + j], s);
                float* cr = c + r * ldc + j;
                *cr = accumulate ? *cr + s : s;
            }
    }

    // The whole registers of columns [n0, n1); returns the first column left for the tail.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int VectorColumns<TVector>(int k, int m, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        int n0, int n1, bool accumulate)
        where TVector : struct, IFloatVector<TVector>
    {
        int w = TVector.Count, j = n0;
        for (; j + w <= n1; j += w)
        {
            TVector s0 = TVector.Zero, s1 = TVector.Zero, s2 = TVector.Zero, s3 = TVector.Zero;
            TVector s4 = TVector.Zero, s5 = TVector.Zero, s6 = TVector.Zero, s7 = TVector.Zero;
            float* ap = a, bp = b + j;
            nint ahead = PrefetchRows * ldb;
            for (int p = 0; p < k; p++, ap += lda, bp += ldb)
            {
                // Rows of B are K·4 bytes apart, often more than a page: the hardware prefetcher does not follow
                // such a stride, so the row PrefetchRows ahead is asked for (past the end it is only a hint).
                if (Sse.IsSupported) Sse.Prefetch0(bp + ahead);
                TVector x = TVector.Load(ref bp[0]);
                s0 = TVector.FusedMultiplyAdd(x, TVector.Create(ap[0]), s0);
                s1 = TVector.FusedMultiplyAdd(x, TVector.Create(ap[1]), s1);
                s2 = TVector.FusedMultiplyAdd(x, TVector.Create(ap[2]), s2);
                s3 = TVector.FusedMultiplyAdd(x, TVector.Create(ap[3]), s3);
                s4 = TVector.FusedMultiplyAdd(x, TVector.Create(ap[4]), s4);
                s5 = TVector.FusedMultiplyAdd(x, TVector.Create(ap[5]), s5);
                s6 = TVector.FusedMultiplyAdd(x, TVector.Create(ap[6]), s6);
                s7 = TVector.FusedMultiplyAdd(x, TVector.Create(ap[7]), s7);
            }
            Span<TVector> sums = [s0, s1, s2, s3, s4, s5, s6, s7];
            for (int r = 0; r < m; r++)
            {
                ref float d = ref c[r * ldc + j];
                TVector.Store(accumulate ? TVector.Load(ref d) + sums[r] : sums[r], ref d);
            }
        }
        return j;
    }

    // VectorColumns for 8-float registers, on the FMA intrinsics directly: through the generic wrapper the JIT puts
    // each sum in a temporary and copies it back (one more instruction per multiply-add). Returns the first column
    // left for the tail.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Columns256(int k, int m, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int n0, int n1,
        bool accumulate)
    {
        int j = n0;
        for (; j + 8 <= n1; j += 8)
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            Vector256<float> s4 = default, s5 = default, s6 = default, s7 = default;
            float* ap = a, bp = b + j;
            nint ahead = PrefetchRows * ldb;
            for (int p = 0; p < k; p++, ap += lda, bp += ldb)
            {
                Sse.Prefetch0(bp + ahead);
                var x = Vector256.Load(bp);
                s0 = Fma.MultiplyAdd(Vector256.Create(ap[0]), x, s0);
                s1 = Fma.MultiplyAdd(Vector256.Create(ap[1]), x, s1);
                s2 = Fma.MultiplyAdd(Vector256.Create(ap[2]), x, s2);
                s3 = Fma.MultiplyAdd(Vector256.Create(ap[3]), x, s3);
                s4 = Fma.MultiplyAdd(Vector256.Create(ap[4]), x, s4);
                s5 = Fma.MultiplyAdd(Vector256.Create(ap[5]), x, s5);
                s6 = Fma.MultiplyAdd(Vector256.Create(ap[6]), x, s6);
                s7 = Fma.MultiplyAdd(Vector256.Create(ap[7]), x, s7);
            }
            Span<Vector256<float>> sums = [s0, s1, s2, s3, s4, s5, s6, s7];
            for (int r = 0; r < m; r++)
            {
                float* d = c + r * ldc + j;
                (accumulate ? Vector256.Load(d) + sums[r] : sums[r]).Store(d);
            }
        }
        return j;
    }
}
