namespace Peft.Net.Lora;

/// <summary>
/// The settings of one LoRA adapter on one layer (PEFT's per-layer <c>r</c>, <c>lora_alpha</c>, <c>lora_dropout</c>,
/// <c>use_rslora</c>, <c>init_lora_weights</c> and <c>use_dora</c>; defaults are PEFT's).
/// </summary>
/// <param name="Rank">r: the adapter rank (≥ 1).</param>
/// <param name="Alpha">lora_alpha: the scaling numerator.</param>
/// <param name="Dropout">Dropout probability on the adapter branch's input, in [0, 1]; 0 disables it.</param>
/// <param name="UseRsLora">rsLoRA: scaling = alpha/√r instead of alpha/r.</param>
/// <param name="Init">How A and B start.</param>
/// <param name="UseDora">DoRA: add a trainable magnitude vector and normalise the adapted weight's rows.</param>
/// <param name="LoraBias">PEFT's <c>lora_bias</c>: lora_B gets a trainable bias [out] (initialised to 0), added as
/// <c>scaling · b_B</c>; linear layers only, not with DoRA.</param>
public sealed record LoraAdapterOptions(int Rank = 8, float Alpha = 8, float Dropout = 0f, bool UseRsLora = false,
    LoraInit Init = LoraInit.Default, bool UseDora = false, bool LoraBias = false)
{
    /// <summary>
    /// PEFT's <c>init_lora_weights="pissa_niter_K"</c>: with <see cref="LoraInit.PiSSA"/>, K power iterations of a
    /// randomized SVD (fast, seeded by the adapter's generator) instead of the exact leading singular vectors; null
    /// (the default) for the exact <c>"pissa"</c>.
    /// </summary>
    public int? PissaNiter { get; init; }

    /// <summary>The factor applied to B·A: <c>Alpha / Rank</c>, or <c>Alpha / √Rank</c> with rsLoRA.</summary>
    public float Scaling => UseRsLora ? Alpha / MathF.Sqrt(Rank) : Alpha / Rank;

    /// <summary>Checks the values and throws an exception that names the adapter and the bad value.</summary>
    /// <exception cref="ArgumentException">Rank ≤ 0, a non-finite alpha, dropout outside [0, 1], or <see cref="PissaNiter"/> negative or without PiSSA.</exception>
    public void Validate(string adapterName)
    {
        if (Rank <= 0)
            throw new ArgumentException($"LoRA adapter '{adapterName}': rank must be ≥ 1, got {Rank}.");
        if (!float.IsFinite(Alpha))
            throw new ArgumentException($"LoRA adapter '{adapterName}': alpha must be finite, got {Alpha}.");
        if (!(Dropout >= 0f && Dropout <= 1f))
            throw new ArgumentException($"LoRA adapter '{adapterName}': dropout must be in [0, 1], got {Dropout}.");
        if (LoraBias && UseDora)
            throw new ArgumentException($"LoRA adapter '{adapterName}': lora_bias cannot be combined with DoRA (as in PEFT).");
        if (!Enum.IsDefined(Init))
            throw new ArgumentException($"LoRA adapter '{adapterName}': unknown init {Init}.");
        if (PissaNiter is int niter && (niter < 0 || Init != LoraInit.PiSSA))
            throw new ArgumentException(niter < 0
                ? $"LoRA adapter '{adapterName}': PiSSA power iterations must be ≥ 0, got {niter}."
                : $"LoRA adapter '{adapterName}': PiSSA power iterations ({niter}) apply to PiSSA initialisation only, not {Init}.");
    }
}
