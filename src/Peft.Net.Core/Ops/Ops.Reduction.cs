using System.Numerics.Tensors;
using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>The sum of all elements as a rank-0 tensor (0 for an empty tensor). Recorded by autograd.</summary>
    public static Tensor Sum(Tensor x)
    {
        var result = Tensor.Scalar(ReductionKernels.SumAll(x.AsSpan()));
        return GradMode.Record(result, "sum", g =>
        {
            if (x.RequiresGrad) ReductionKernels.SumBackward(g.AsSpan(), x.GradBuffer(), 1, x.Count, 1, 1f);
        }, x);
    }

    /// <summary>The mean of all elements as a rank-0 tensor (NaN for an empty tensor). Recorded by autograd.</summary>
    public static Tensor Mean(Tensor x)
    {
        var result = Tensor.Scalar(ReductionKernels.SumAll(x.AsSpan()) / x.Count);
        return GradMode.Record(result, "mean", g =>
        {
            if (x.RequiresGrad) ReductionKernels.SumBackward(g.AsSpan(), x.GradBuffer(), 1, x.Count, 1, 1f / x.Count);
        }, x);
    }

    /// <summary>
    /// Sum over dimension <paramref name="dim"/> (negative counts from the end). The dimension is removed, or kept
    /// with size 1 when <paramref name="keepDim"/>. Recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is not a dimension of <paramref name="x"/>.</exception>
    public static Tensor Sum(Tensor x, int dim, bool keepDim = false)
    {
        var (outer, n, inner, shape) = ReductionLayout(x, dim, keepDim);
        var result = Uninitialized(shape);
        ReductionKernels.Sum(x.AsSpan(), result.AsSpan(), outer, n, inner);
        return GradMode.Record(result, "sum_dim", g =>
        {
            if (x.RequiresGrad) ReductionKernels.SumBackward(g.AsSpan(), x.GradBuffer(), outer, n, inner, 1f);
        }, x);
    }

    /// <summary>
    /// Mean over dimension <paramref name="dim"/> (negative counts from the end), removed or kept with size 1.
    /// Recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is not a dimension of <paramref name="x"/>.</exception>
    public static Tensor Mean(Tensor x, int dim, bool keepDim = false)
    {
        var (outer, n, inner, shape) = ReductionLayout(x, dim, keepDim);
        var result = Uninitialized(shape);
        ReductionKernels.Sum(x.AsSpan(), result.AsSpan(), outer, n, inner);
        TensorPrimitives.Divide(result.AsSpan(), (float)n, result.AsSpan());
        return GradMode.Record(result, "mean_dim", g =>
        {
            if (x.RequiresGrad) ReductionKernels.SumBackward(g.AsSpan(), x.GradBuffer(), outer, n, inner, 1f / n);
        }, x);
    }

    /// <summary>
    /// Maximum over dimension <paramref name="dim"/> (negative counts from the end), removed or kept with size 1;
    /// NaN wins. The gradient goes to the first maximal element. Recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is not a dimension of <paramref name="x"/>.</exception>
    /// <exception cref="ArgumentException">The dimension is empty.</exception>
    public static Tensor Max(Tensor x, int dim, bool keepDim = false)
    {
        var (outer, n, inner, shape) = ReductionLayout(x, dim, keepDim);
        if (n == 0 && outer * inner > 0)
            throw new ArgumentException($"Max over dimension {dim} of {x.Describe()}: the dimension is empty.", nameof(dim));
        var result = Uninitialized(shape);
        if (result.Count > 0) ReductionKernels.Max(x.AsSpan(), result.AsSpan(), outer, n, inner);
        return GradMode.Record(result, "max_dim", g =>
        {
            if (x.RequiresGrad) ReductionKernels.MaxBackward(g.AsSpan(), x.AsSpan(), result.AsSpan(), x.GradBuffer(), outer, n, inner);
        }, x);
    }

    // x seen as (O, N, I) around dimension dim; shape of the result.
    private static (int Outer, int N, int Inner, int[] Shape) ReductionLayout(Tensor x, int dim, bool keepDim)
    {
        int d = x.NormalizeDim(dim);
        int outer = x.OuterCount(d), n = x.Dim(d), inner = 1;
        for (int i = d + 1; i < x.Rank; i++) inner *= x.Dim(i);
        var shape = x.ShapeArray().ToList();
        if (keepDim) shape[d] = 1;
        else shape.RemoveAt(d);
        return (outer, n, inner, shape.ToArray());
    }
}
