using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Elementwise <c>a + b</c>. Shapes must be equal, or one shape must be a suffix of the other, in which case
    /// the smaller operand is repeated over the leading dimensions (e.g. [B, T, C] + [C], or any tensor + a
    /// rank-0 scalar). Recorded by autograd; the broadcast operand's gradient is summed over the repeats.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast (the message gives both).</exception>
    public static Tensor Add(Tensor a, Tensor b) => Arithmetic(a, b, ArithmeticOperation.Add, "add");

    /// <summary>Elementwise <c>a − b</c> with the broadcasting of <see cref="Add"/>. Recorded by autograd.</summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast (the message gives both).</exception>
    public static Tensor Sub(Tensor a, Tensor b) => Arithmetic(a, b, ArithmeticOperation.Subtract, "sub");

    /// <summary>Elementwise <c>a · b</c> with the broadcasting of <see cref="Add"/>. Recorded by autograd.</summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast (the message gives both).</exception>
    public static Tensor Mul(Tensor a, Tensor b) => Arithmetic(a, b, ArithmeticOperation.Multiply, "mul");

    /// <summary>Elementwise <c>a / b</c> (IEEE: x/0 is ±∞ or NaN) with the broadcasting of <see cref="Add"/>. Recorded by autograd.</summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast (the message gives both).</exception>
    public static Tensor Div(Tensor a, Tensor b) => Arithmetic(a, b, ArithmeticOperation.Divide, "div");

    private static Tensor Arithmetic(Tensor a, Tensor b, ArithmeticOperation operation, string name)
    {
        var (big, _) = BroadcastPair(a, b, name);
        var result = Uninitialized(big.ShapeArray());
        ArithmeticKernels.Forward(operation, a.AsSpan(), b.AsSpan(), result.AsSpan());
        return GradMode.Record(result, name, g => ArithmeticKernels.Backward(operation, g.AsSpan(), a.AsSpan(), b.AsSpan(),
            a.RequiresGrad ? a.GradBuffer() : default, b.RequiresGrad ? b.GradBuffer() : default), a, b);
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
