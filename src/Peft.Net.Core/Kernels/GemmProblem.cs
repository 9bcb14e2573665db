namespace Peft.Net.Core.Kernels;

/// <summary>
/// The operands of one GEMM call, as raw pointers pinned by <see cref="Gemm"/> for the duration of the call:
/// C (+)= op(A)·op(B) with B either dense (<see cref="B"/>) or a packable weight (<see cref="Weight"/>).
/// </summary>
internal unsafe struct GemmProblem
{
    /// <summary>A: (K, M) row-major when <see cref="TransA"/>, else (M, K).</summary>
    public float* A;

    /// <summary>Dense B: (N, K) row-major when <see cref="TransB"/>, else (K, N). Null when <see cref="Weight"/> is set.</summary>
    public float* B;

    /// <summary>B read through its packing hook: W is (N, K) when <see cref="TransB"/>, else (K, N).</summary>
    public IPackableWeight? Weight;

    /// <summary>C: (M, N) row-major.</summary>
    public float* C;

    /// <summary>
    /// Optional low-rank term added after the product: C (+)= op(A)·op(B) + A2·B2ᵀ, with A2 (M, K2) and B2 (N, K2)
    /// row-major (a LoRA update u·(scaling·B)ᵀ riding on its base layer's product). Null when <see cref="K2"/> is 0.
    /// </summary>
    public float* A2, B2;

    /// <summary>Depth of the low-rank term (the LoRA rank), 0 for none.</summary>
    public int K2;

    public int M, N, K;
    public bool TransA, TransB, Accumulate;
}
