namespace Peft.Net.Core.Kernels;

/// <summary>
/// The scalar GEMM that defines the result: a plain triple loop with double accumulation.
/// It is the oracle the fast kernels are tested against, never used on a hot path.
/// </summary>
internal static class GemmReference
{
    // a: transA ? (K, M) : (M, K)    b: transB ? (N, K) : (K, N)    c: (M, N)
    /// <summary>C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/>.</summary>
    public static void Multiply(ReadOnlySpan<float> a, bool transA, ReadOnlySpan<float> b, bool transB,
        Span<float> c, int m, int n, int k, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double sum = 0;
            for (int p = 0; p < k; p++)
            {
                float av = transA ? a[p * m + i] : a[i * k + p];
                float bv = transB ? b[j * k + p] : b[p * n + j];
                sum += (double)av * bv;
            }
            c[i * n + j] = accumulate ? (float)(c[i * n + j] + sum) : (float)sum;
        }
    }

    /// <summary>Same with B given as a packable weight W: op(B) = Wᵀ when <paramref name="transB"/>, else W.</summary>
    public static void Multiply(ReadOnlySpan<float> a, bool transA, IPackableWeight w, bool transB,
        Span<float> c, int m, int n, int k, bool accumulate)
    {
        var dense = new float[w.Rows * w.Columns];
        w.DecodeTile(0, w.Rows, 0, w.Columns, dense, w.Columns);
        Multiply(a, transA, dense, transB, c, m, n, k, accumulate);
    }
}
