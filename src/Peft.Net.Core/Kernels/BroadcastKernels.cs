using System.Numerics.Tensors;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Runs a binary operator, and the gradient of either operand, under leading-dimension broadcasting: each operand
/// is either the whole (O, I) block or one (I) row that is repeated O times. A one-element operand is bound as a
/// scalar so it does not cost a loop call per element.
/// </summary>
internal static class BroadcastKernels
{
    // a: (O, I) or (I); b: (O, I) or (I); y: (O, I)
    /// <summary>y = op(a, b) with the shorter operand repeated over y's leading rows.</summary>
    public static void Forward<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
        where TOp : struct, IBinaryOperator
    {
        int n = y.Length;
        CheckOperands(a.Length, b.Length, n);
        if (n == 0) return;
        if (a.Length == n && b.Length == n)
            SimdLoop.Map(op, a, b, y);
        else if (b.Length == 1)
            SimdLoop.Map(new BindSecond<TOp>(op, b[0]), a, y);
        else if (a.Length == 1)
            SimdLoop.Map(new BindFirst<TOp>(op, a[0]), b, y);
        else
        {
            int inner = Math.Min(a.Length, b.Length);
            for (int o = 0; o < n; o += inner)
                SimdLoop.Map(op, Row(a, o, inner, n), Row(b, o, inner, n), y.Slice(o, inner));
        }
    }

    // g: (O, I); a, b: (O, I) or (I); gradient: the shape of the operand it belongs to
    /// <summary>
    /// gradient += grad(g, a, b), summed over the repeated rows when <paramref name="gradient"/> belongs to the
    /// broadcast operand (its length says which operand it is).
    /// </summary>
    public static void AccumulateGradient<TGrad>(TGrad grad, ReadOnlySpan<float> g, ReadOnlySpan<float> a, ReadOnlySpan<float> b,
        Span<float> gradient) where TGrad : struct, ITernaryOperator
    {
        int n = g.Length;
        CheckOperands(a.Length, b.Length, n);
        if (gradient.Length != a.Length && gradient.Length != b.Length)
            throw new ArgumentException($"A gradient of {gradient.Length} elements matches neither operand ({a.Length} and {b.Length}).", nameof(gradient));
        if (n == 0) return;
        if (a.Length == n && b.Length == n)
            SimdLoop.Accumulate(grad, g, a, b, gradient);
        else if (gradient.Length == n && b.Length == 1)
            SimdLoop.Accumulate(new BindThirdOfThree<TGrad>(grad, b[0]), g, a, gradient);
        else if (gradient.Length == n && a.Length == 1)
            SimdLoop.Accumulate(new BindSecondOfThree<TGrad>(grad, a[0]), g, b, gradient);
        else if (gradient.Length == 1)
            gradient[0] += b.Length == 1
                ? SumOfContributions(new BindThirdOfThree<TGrad>(grad, b[0]), g, a)
                : SumOfContributions(new BindSecondOfThree<TGrad>(grad, a[0]), g, b);
        else
        {
            int inner = Math.Min(a.Length, b.Length);
            for (int o = 0; o < n; o += inner)
                SimdLoop.Accumulate(grad, g.Slice(o, inner), Row(a, o, inner, n), Row(b, o, inner, n), Row(gradient, o, inner, n));
        }
    }

    /// <summary>Scalar reference of <see cref="Forward{TOp}"/>: y[i] = f(a[i mod |a|], b[i mod |b|]).</summary>
    public static void ForwardReference(Func<float, float, float> f, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        CheckOperands(a.Length, b.Length, y.Length);
        for (int i = 0; i < y.Length; i++) y[i] = f(a[i % a.Length], b[i % b.Length]);
    }

    /// <summary>Scalar reference of <see cref="AccumulateGradient{TGrad}"/>: gradient[i mod |gradient|] += grad(g[i], a…, b…).</summary>
    public static void AccumulateGradientReference(Func<float, float, float, float> grad, ReadOnlySpan<float> g,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> gradient)
    {
        CheckOperands(a.Length, b.Length, g.Length);
        for (int i = 0; i < g.Length; i++)
            gradient[i % gradient.Length] += grad(g[i], a[i % a.Length], b[i % b.Length]);
    }

    /// <summary>Σ op(g[i], x[i]): the gradient of a broadcast scalar, summed block-wise in double.</summary>
    private static float SumOfContributions<TOp>(TOp op, ReadOnlySpan<float> g, ReadOnlySpan<float> x) where TOp : struct, IBinaryOperator
    {
        Span<float> block = stackalloc float[512];
        double total = 0;
        for (int start = 0; start < g.Length; start += block.Length)
        {
            int count = Math.Min(block.Length, g.Length - start);
            var part = block[..count];
            SimdLoop.Map(op, g.Slice(start, count), x.Slice(start, count), part);
            total += TensorPrimitives.Sum<float>(part);
        }
        return (float)total;
    }

    private static ReadOnlySpan<float> Row(ReadOnlySpan<float> operand, int start, int inner, int total) =>
        operand.Length == total ? operand.Slice(start, inner) : operand;

    private static Span<float> Row(Span<float> operand, int start, int inner, int total) =>
        operand.Length == total ? operand.Slice(start, inner) : operand;

    private static void CheckOperands(int a, int b, int n)
    {
        int small = Math.Min(a, b);
        if (Math.Max(a, b) != n || (small == 0 ? n != 0 : n % small != 0))
            throw new ArgumentException($"Operands of {a} and {b} elements do not broadcast to {n} elements.");
    }
}
