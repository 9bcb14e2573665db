using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// RMS normalisation over the last dimension, exactly Hugging Face's <c>LlamaRMSNorm</c> in float32:
    /// <c>y = weight · (x · 1/√(mean(x²) + eps))</c>. x is [..., C], <paramref name="weight"/> is [C]; the result
    /// has x's shape. Recorded by autograd (gradients to x and weight).
    /// </summary>
    /// <exception cref="ArgumentException">x is a scalar, or the weight is not [C] (the message gives both shapes).</exception>
    public static Tensor RmsNorm(Tensor x, Tensor weight, float eps = 1e-6f)
    {
        var (rows, channels) = NormRows(x, weight, null, "RmsNorm");
        var y = Uninitialized(x.ShapeArray()); // the kernel writes every element
        var rstd = new float[rows];
        RmsNormKernels.Forward(y.AsSpan(), rstd, x.AsSpan(), weight.AsSpan(), rows, channels, eps);
        return RecordRmsNorm(y, x, weight, rstd, rows, channels);
    }

    /// <summary>
    /// The decoder's "add the residual, then normalise" in one pass: <c>Sum = residual + x</c> and
    /// <c>Normed = RmsNorm(Sum, weight, eps)</c>. Both results are recorded by autograd and may each feed the loss:
    /// the gradient of <c>Normed</c> flows through <c>Sum</c>, so residual and x receive the sum of both paths.
    /// </summary>
    /// <exception cref="ArgumentException">residual and x differ in shape, or the weight is not [C].</exception>
    public static (Tensor Sum, Tensor Normed) AddRmsNorm(Tensor residual, Tensor x, Tensor weight, float eps = 1e-6f)
    {
        if (!residual.SameShape(x))
            throw new ArgumentException($"AddRmsNorm: the residual {residual.Describe()} and the input {x.Describe()} must have the same shape.");
        var (rows, channels) = NormRows(x, weight, null, "AddRmsNorm");
        var sum = Uninitialized(x.ShapeArray());
        var y = Uninitialized(x.ShapeArray()); // the kernel writes every element
        var rstd = new float[rows];
        RmsNormKernels.AddForward(sum.AsSpan(), y.AsSpan(), rstd, residual.AsSpan(), x.AsSpan(), weight.AsSpan(), rows, channels, eps);
        sum = GradMode.Record(sum, "add", g =>
        {
            // The last receiver takes the buffer itself (no copy); the first gets a copy added.
            if (residual.RequiresGrad) residual.AccumulateGrad(g, handOver: !x.RequiresGrad);
            if (x.RequiresGrad) x.AccumulateGrad(g, handOver: true);
        }, residual, x);
        return (sum, RecordRmsNorm(y, sum, weight, rstd, rows, channels));
    }

    private static Tensor RecordRmsNorm(Tensor y, Tensor x, Tensor weight, float[] rstd, int rows, int channels) =>
        GradMode.Record(y, "rms_norm", g =>
        {
            if (!x.RequiresGrad && !weight.RequiresGrad) return;
            bool overwriteDx = false;
            var dx = x.RequiresGrad ? x.GradBufferToWrite(out overwriteDx) : default;
            RmsNormKernels.Backward(dx, weight.RequiresGrad ? weight.GradBuffer() : default,
                g.AsSpan(), x.AsSpan(), weight.AsSpan(), rstd, rows, channels, overwriteDx);
        }, x, weight);

    /// <summary>
    /// Checks a normalisation's operands and returns x seen as [rows, C]: x must have rank ≥ 1 and the weight
    /// and bias (when given) must be [C].
    /// </summary>
    private static (int Rows, int Channels) NormRows(Tensor x, Tensor? weight, Tensor? bias, string operation)
    {
        if (x.Rank == 0)
            throw new ArgumentException($"{operation}: the input {x.Describe()} is a scalar; it needs a last dimension to normalise.");
        int channels = x.Dim(-1);
        foreach (var (parameter, role) in new[] { (weight, "weight"), (bias, "bias") })
            if (parameter is not null && (parameter.Rank != 1 || parameter.Dim(0) != channels))
                throw new ArgumentException($"{operation}: the {role} {parameter.Describe()} must be [{channels}] to match the input {x.Describe()}.");
        return (x.OuterCount(x.Rank - 1), channels);
    }
}
