using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// A <see cref="LoraLinear"/> whose adapters all use DoRA (weight-decomposed low-rank adaptation). PEFT itself has one
/// class with <c>use_dora</c>; this type exists so DoRA layers can be created and found by type, as in the engine.
/// </summary>
public sealed class DoraLinear : LoraLinear
{
    /// <summary>Wraps <paramref name="baseLayer"/> (a Linear or an Nf4Linear) and freezes it.</summary>
    public DoraLinear(nn.Module<Tensor, Tensor> baseLayer) : base(baseLayer, forceDora: true)
    {
    }
}
