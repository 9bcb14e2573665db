using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Lora;

/// <summary>
/// The down-projection u (M, R) that a fused LoRA op adds through B: either <see cref="Given"/>, a recorded tensor
/// the caller computed (from x after dropout, say), whose gradient autograd carries back; or made by the op itself
/// from <see cref="A"/> as u = x·Aᵀ (no dropout), so the op also computes dA and the du·A part of dx, the latter
/// inside its base input-gradient GEMM.
/// </summary>
internal readonly struct LowRankInput
{
    private LowRankInput(Tensor? u, Tensor? a)
    {
        U = u;
        A = a;
    }

    /// <summary>u (M, R) given by the caller, or null.</summary>
    public Tensor? U { get; }

    /// <summary>A (R, K) when the op makes u = x·Aᵀ itself, or null.</summary>
    public Tensor? A { get; }

    public static LowRankInput Given(Tensor u) => new(u ?? throw new ArgumentNullException(nameof(u)), null);

    public static LowRankInput FromA(Tensor a) => new(null, a ?? throw new ArgumentNullException(nameof(a)));

    // x: (M, K) → u (M, R): the given tensor, or x·Aᵀ (the bits of Ops.MatMul(x, A, transposeB: true)), not recorded
    public Tensor Project(Tensor x, int r)
    {
        if (U is not null) return U;
        int m = x.Dim(0), k = x.Dim(1);
        var u = Tensor.NewResult([m, r], zeroed: false);
        Gemm.Multiply(x.AsSpan(), false, A!.AsSpan(), true, u.AsSpan(), m, r, k, accumulate: false);
        return u;
    }

    /// <summary>The op's autograd inputs: x, u or A, and B.</summary>
    public Tensor[] Inputs(Tensor x, Tensor b) => [x, U ?? A!, b];
}
