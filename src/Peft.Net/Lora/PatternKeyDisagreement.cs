namespace Peft.Net.Lora;

/// <summary>
/// A module for which PEFT ≤ 0.13 and PEFT ≥ 0.14 give a different rank or alpha from the same
/// <c>rank_pattern</c>/<c>alpha_pattern</c> (see <see cref="LoraConfig.PatternKeyDisagreements"/>).
/// </summary>
/// <param name="Module">The module's dotted name.</param>
/// <param name="Rank">The rank Peft.Net (and PEFT ≥ 0.14) uses.</param>
/// <param name="Alpha">The lora_alpha Peft.Net (and PEFT ≥ 0.14) uses.</param>
/// <param name="LegacyRank">The rank PEFT ≤ 0.13 uses.</param>
/// <param name="LegacyAlpha">The lora_alpha PEFT ≤ 0.13 uses.</param>
public sealed record PatternKeyDisagreement(string Module, int Rank, double Alpha, int LegacyRank, double LegacyAlpha)
{
    /// <summary>A one-line warning naming the module and both results.</summary>
    public override string ToString() =>
        $"module '{Module}': rank_pattern/alpha_pattern give r = {Rank}, lora_alpha = {Alpha} (PEFT >= 0.14, used here) " +
        $"but r = {LegacyRank}, lora_alpha = {LegacyAlpha} in PEFT <= 0.13; make the keys of the two patterns the same to load it alike everywhere";
}
