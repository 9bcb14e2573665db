using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// A <see cref="LoraLinear"/> whose adapters all use DoRA (weight-decomposed low-rank adaptation,
/// <see cref="LoraAdapterOptions.UseDora"/> forced on): <c>y = (m / sg(‖W + scaling·B·A‖_row)) ⊙ (W + scaling·B·A)·x + b</c>,
/// composed as PEFT does so the base output is reused. PEFT itself has one class with <c>use_dora</c>; this type
/// exists so DoRA layers can be created and found by type.
/// </summary>
public sealed class DoraLinear : LoraLinear
{
    /// <summary>Wraps <paramref name="baseLayer"/> (which must be a <see cref="Module"/>) and freezes its parameters.</summary>
    /// <exception cref="ArgumentException">The base layer is not a <see cref="Module"/>.</exception>
    public DoraLinear(ILinearLayer baseLayer) : base(baseLayer, forceDora: true)
    {
    }
}
