using System.Globalization;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// Trainable versus total parameter counts of a model, printed like PEFT's <c>print_trainable_parameters</c>:
/// <c>trainable params: 1,234 || all params: 56,789 || trainable%: 2.1730</c>. Every parameter counts once (frozen
/// originals, LoRA matrices and modules_to_save copies alike), by element count; a frozen 4-bit weight
/// (<see cref="Quantization.Nf4Linear"/>) counts its [out, in] elements, as PEFT counts bitsandbytes weights.
/// </summary>
/// <param name="TrainableParameters">Elements of parameters that require gradients.</param>
/// <param name="AllParameters">Elements of all parameters.</param>
public sealed record PeftSummary(long TrainableParameters, long AllParameters)
{
    /// <summary>100 · trainable / all (0 for an empty model).</summary>
    public double TrainablePercent => AllParameters == 0 ? 0 : 100.0 * TrainableParameters / AllParameters;

    /// <summary>The counts of <paramref name="model"/> now.</summary>
    public static PeftSummary Of(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long quantized = model.NamedModules().Select(m => m.Module).OfType<Quantization.Nf4Linear>().Sum(l => (long)l.InFeatures * l.OutFeatures);
        return new PeftSummary(model.ParameterCount(trainableOnly: true), model.ParameterCount() + quantized);
    }

    /// <summary>PEFT's line: <c>trainable params: {n:,d} || all params: {m:,d} || trainable%: {p:.4f}</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"trainable params: {TrainableParameters:N0} || all params: {AllParameters:N0} || trainable%: {TrainablePercent:F4}");
}
