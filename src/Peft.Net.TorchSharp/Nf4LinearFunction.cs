using TorchSharp;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// The autograd function of <see cref="Nf4Linear"/> (QLoRA's <c>MatMul4Bit</c>): forward decodes the 4-bit weight into
/// a temporary, computes <c>x·Wᵀ + b</c> and frees it; backward decodes it again and returns <c>dY·W</c> for the input
/// only (the weight is frozen, the bias is frozen). Nothing but the layer itself is saved for backward.
/// </summary>
internal sealed class Nf4LinearFunction : autograd.SingleTensorFunction<Nf4LinearFunction>
{
    private const string LayerKey = "nf4_layer";

    public override string Name => nameof(Nf4LinearFunction);

    // x: (…, K), W: (N, K) 4-bit → (…, N)
    public static Tensor Apply(Tensor x, Nf4Linear layer) => apply(x, layer);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var layer = (Nf4Linear)vars[1];
        ctx.save_data(LayerKey, layer);
        using var weight = layer.DequantizeWeight();
        using var w = weight.to(x.dtype);
        return nn.functional.linear(x, w, layer.bias?.to(x.dtype));
    }

    // dY: (…, N) → dX: (…, K)
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var layer = (Nf4Linear)ctx.get_data(LayerKey);
        using var weight = layer.DequantizeWeight();
        using var w = weight.to(gradOutput.dtype);
        return [gradOutput.matmul(w), null!];   // one entry per forward argument: x, then the layer
    }
}
