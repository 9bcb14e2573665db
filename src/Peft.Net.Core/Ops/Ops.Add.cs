using System.Numerics.Tensors;
using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Elementwise <c>a + b</c>. Shapes must be equal, or one shape must be a suffix of the other, in which case
    /// the smaller operand is repeated over the leading dimensions (e.g. [B, T, C] + [C]). Recorded by autograd.
    /// </summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var (big, small) = BroadcastPair(a, b, "Add");
        var result = Tensor.Zeros(big.ShapeArray());
        var r = result.AsSpan();
        var bs = big.AsSpan();
        var ss = small.AsSpan();
        int inner = ss.Length;
        if (inner > 0)
            for (int o = 0; o < r.Length; o += inner)
                TensorPrimitives.Add(bs.Slice(o, inner), ss, r.Slice(o, inner));
        return GradMode.Record(result, "add", g =>
        {
            var gs = g.AsSpan();
            if (big.RequiresGrad) ElementwiseKernels.AddInPlace(big.GradBuffer(), gs);
            if (small.RequiresGrad)
            {
                var sg = small.GradBuffer();
                if (inner > 0)
                    for (int o = 0; o < gs.Length; o += inner)
                        ElementwiseKernels.AddInPlace(sg, gs.Slice(o, inner));
            }
        }, a, b);
    }

    /// <summary>
    /// Orders two operands as (larger, smaller) for leading-dimension broadcasting and checks that the smaller
    /// shape is a suffix of the larger.
    /// </summary>
    internal static (Tensor Big, Tensor Small) BroadcastPair(Tensor a, Tensor b, string operation)
    {
        var (big, small) = a.Rank >= b.Rank ? (a, b) : (b, a);
        if (!big.Shape[(big.Rank - small.Rank)..].SequenceEqual(small.Shape))
            throw new ArgumentException($"{operation}: shapes of {a.Describe()} and {b.Describe()} do not broadcast (the smaller must be a suffix of the larger).");
        return (big, small);
    }
}
