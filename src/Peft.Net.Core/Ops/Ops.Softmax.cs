using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Softmax over the last dimension, computed stably (the row maximum is subtracted first), so any finite
    /// input works and −∞ entries (masks) get probability 0. As in PyTorch, a row that is entirely −∞ gives NaN.
    /// Recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is a rank-0 scalar.</exception>
    public static Tensor Softmax(Tensor x)
    {
        int columns = LastDimension(x, "Softmax");
        var result = Uninitialized(x.ShapeArray());
        if (result.Count > 0) SoftmaxKernels.Forward(x.AsSpan(), result.AsSpan(), columns);
        return GradMode.Record(result, "softmax", g =>
        {
            if (x.RequiresGrad && result.Count > 0) SoftmaxKernels.Backward(g.AsSpan(), result.AsSpan(), x.GradBuffer(), columns);
        }, x);
    }

    /// <summary>
    /// Log-softmax over the last dimension, <c>(x − max) − ln Σ e^(x − max)</c>: finite for any finite input
    /// (e.g. logits of 1e4), −∞ at −∞ entries. Recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is a rank-0 scalar.</exception>
    public static Tensor LogSoftmax(Tensor x)
    {
        int columns = LastDimension(x, "LogSoftmax");
        var result = Uninitialized(x.ShapeArray());
        if (result.Count > 0) LogSoftmaxKernels.Forward(x.AsSpan(), result.AsSpan(), columns);
        return GradMode.Record(result, "log_softmax", g =>
        {
            if (x.RequiresGrad && result.Count > 0) LogSoftmaxKernels.Backward(g.AsSpan(), result.AsSpan(), x.GradBuffer(), columns);
        }, x);
    }

    private static int LastDimension(Tensor x, string operation)
    {
        if (x.Rank == 0)
            throw new ArgumentException($"{operation} works over the last dimension; {x.Describe()} has none.", nameof(x));
        return x.Dim(-1);
    }
}
