namespace Peft.Net.Core.Kernels;

/// <summary>
/// Entry point for every matrix product in the engine. Dispatches to the fastest kernel available.
/// </summary>
internal static class Gemm
{
    // a: transA ? (K, M) : (M, K)    b: transB ? (N, K) : (K, N)    c: (M, N)
    /// <summary>C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/>.</summary>
    public static void Multiply(ReadOnlySpan<float> a, bool transA, ReadOnlySpan<float> b, bool transB,
        Span<float> c, int m, int n, int k, bool accumulate) =>
        GemmReference.Multiply(a, transA, b, transB, c, m, n, k, accumulate);

    // a: transA ? (K, M) : (M, K)    w: (N, K) when transB, (K, N) otherwise    c: (M, N)
    /// <summary>C (+)= op(A)·op(W) with W read through its packing hook.</summary>
    public static void Multiply(ReadOnlySpan<float> a, bool transA, IPackableWeight w, bool transB,
        Span<float> c, int m, int n, int k, bool accumulate) =>
        GemmReference.Multiply(a, transA, w, transB, c, m, n, k, accumulate);
}
