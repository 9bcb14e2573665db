using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Layer normalisation over the last dimension, as <c>torch.nn.functional.layer_norm(x, [C], weight, bias, eps)</c>:
    /// <c>y = (x − mean)/√(var + eps) · weight + bias</c> with the biased variance. x is [..., C]; weight and bias are
    /// [C] or null. Recorded by autograd (gradients to x, weight and bias).
    /// </summary>
    /// <exception cref="ArgumentException">x is a scalar, or the weight or bias is not [C].</exception>
    public static Tensor LayerNorm(Tensor x, Tensor? weight, Tensor? bias, float eps = 1e-5f)
    {
        var (rows, channels) = NormRows(x, weight, bias, "LayerNorm");
        var y = Tensor.NewResult(x.ShapeArray());
        var mean = new float[rows];
        var rstd = new float[rows];
        LayerNormKernels.Forward(y.AsSpan(), mean, rstd, x.AsSpan(), SpanOrEmpty(weight), SpanOrEmpty(bias), rows, channels, eps);
        Tensor[] inputs = weight is null ? (bias is null ? [x] : [x, bias]) : (bias is null ? [x, weight] : [x, weight, bias]);
        return GradMode.Record(y, "layer_norm", g =>
        {
            bool weightGrad = weight is not null && weight.RequiresGrad, biasGrad = bias is not null && bias.RequiresGrad;
            if (!x.RequiresGrad && !weightGrad && !biasGrad) return;
            LayerNormKernels.Backward(x.RequiresGrad ? x.GradBuffer() : default, weightGrad ? weight!.GradBuffer() : default,
                biasGrad ? bias!.GradBuffer() : default, g.AsSpan(), x.AsSpan(), SpanOrEmpty(weight), mean, rstd, rows, channels);
        }, inputs);
    }

    private static ReadOnlySpan<float> SpanOrEmpty(Tensor? tensor) => tensor is null ? default : tensor.AsSpan();
}
