namespace Peft.Net.Optim;

/// <summary>
/// PEFT's LoRA+ grouping rule (<c>create_loraplus_optimizer</c>), written once for the engine's and TorchSharp's
/// <c>LoraPlusOptimizer</c>: a parameter of a LoRA embedding goes to <see cref="LoraPlusGroup.Embedding"/>; a name
/// containing <c>lora_B</c> or a 1-D parameter goes to <see cref="LoraPlusGroup.B"/> when it decays and to
/// <see cref="LoraPlusGroup.BNoDecay"/> when not; everything else to <see cref="LoraPlusGroup.A"/>.
/// </summary>
public static class LoraPlusRules
{
    /// <summary>The group of one trainable parameter.</summary>
    /// <param name="name">Its dotted name.</param>
    /// <param name="rank">Its number of dimensions.</param>
    /// <param name="ownerIsLoraEmbedding">Whether its owner (the name without its last two parts) is a LoRA embedding layer.</param>
    /// <param name="decays">Whether it is in the weight-decay set (see <see cref="Decays"/>).</param>
    public static LoraPlusGroup GroupOf(string name, int rank, bool ownerIsLoraEmbedding, bool decays)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (ownerIsLoraEmbedding) return LoraPlusGroup.Embedding;
        if (name.Contains("lora_B", StringComparison.Ordinal) || rank == 1)
            return decays ? LoraPlusGroup.B : LoraPlusGroup.BNoDecay;
        return LoraPlusGroup.A;
    }

    /// <summary>
    /// transformers' decay set (<c>get_parameter_names(model, ALL_LAYERNORM_LAYERS)</c> minus names containing "bias"):
    /// true unless the name contains "bias" or the parameter lives inside a normalisation layer.
    /// </summary>
    public static bool Decays(string name, bool insideNormLayer) => !insideNormLayer && !name.Contains("bias", StringComparison.Ordinal);

    /// <summary>The dotted name of the module owning a LoRA parameter: the name without its last two parts.</summary>
    public static string OwnerOf(string name)
    {
        var parts = name.Split('.');
        return string.Join('.', parts.Take(Math.Max(parts.Length - 2, 0)));
    }
}
