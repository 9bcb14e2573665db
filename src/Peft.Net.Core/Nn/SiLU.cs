namespace Peft.Net.Core.Nn;

/// <summary>SiLU (swish) activation <c>x·σ(x)</c> (PyTorch's <c>nn.SiLU</c>).</summary>
public sealed class SiLU : Module
{
    // x: any shape → same shape
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Silu(input);
}
