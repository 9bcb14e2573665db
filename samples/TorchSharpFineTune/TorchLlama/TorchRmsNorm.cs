using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchLlama;

/// <summary>
/// Hugging Face's <c>LlamaRMSNorm</c> in TorchSharp: <c>weight · x / √(mean(x²) + eps)</c>, computed in float32.
/// One parameter, "weight" [C], initialised to ones.
/// </summary>
internal sealed class TorchRmsNorm : nn.Module<Tensor, Tensor>
{
    // The field's name is the parameter's name in the state dict.
#pragma warning disable IDE1006
    private readonly Parameter weight;
#pragma warning restore IDE1006
    private readonly double _eps;

    public TorchRmsNorm(long dim, double eps) : base(nameof(TorchRmsNorm))
    {
        weight = new Parameter(ones(dim));
        _eps = eps;
        RegisterComponents();
    }

    /// <summary>The scale [C].</summary>
    public Parameter Weight => weight;

    // x: (..., C) → (..., C)
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.to_type(ScalarType.Float32);
        var variance = x.pow(2).mean([-1L], keepdim: true);
        var normed = x * rsqrt(variance + _eps);
        return (weight * normed.to_type(input.dtype)).MoveToOuterDisposeScope();
    }
}
