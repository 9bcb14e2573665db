using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// The rotary tables a config needs, as children of <see cref="LlamaModel"/> (non-persistent buffers, never saved):
/// "rotary_emb" (θ = rope_theta with the config's scaling), "rotary_emb_local" for Gemma 3's sliding layers
/// (θ = rope_local_base_freq, no scaling) and "rotary_emb_long" for Phi-3's longrope beyond the original context.
/// </summary>
internal static class RotaryTables
{
    public const string GlobalTable = "rotary_emb";
    public const string LocalName = "rotary_emb_local";
    public const string LongName = "rotary_emb_long";

    public static IEnumerable<(string Name, RotaryEmbedding Table)> Build(LlamaConfig config)
    {
        int dim = config.RotaryDim, positions = config.MaxPositionEmbeddings;
        if (config.LongRope is { } longRope)
        {
            float attention = (float)longRope.ResolvedAttentionFactor(positions);
            yield return (GlobalTable, new RotaryEmbedding(longRope.InverseFrequencies(dim, config.RopeTheta, longContext: false), positions, attention));
            yield return (LongName, new RotaryEmbedding(longRope.InverseFrequencies(dim, config.RopeTheta, longContext: true), positions, attention));
        }
        else if (config.LinearRopeScalingFactor is { } factor)
        {
            // _compute_linear_scaling_rope_parameters: inv_freq / factor in float32.
            var frequencies = RotaryEmbedding.DefaultInverseFrequencies(dim, config.RopeTheta);
            for (int i = 0; i < frequencies.Length; i++) frequencies[i] /= (float)factor;
            yield return (GlobalTable, new RotaryEmbedding(frequencies, positions));
        }
        else
            yield return (GlobalTable, new RotaryEmbedding(dim, positions, config.RopeTheta, config.RopeScaling));
        if (config.RopeLocalBaseFreq is { } local)
            yield return (LocalName, new RotaryEmbedding(dim, positions, local));
    }

    /// <summary>
    /// The table of the full-attention layers for a pass whose positions reach <paramref name="sequenceLength"/> − 1:
    /// longrope switches to its long factors once that exceeds original_max_position_embeddings (transformers
    /// re-evaluates it every forward pass).
    /// </summary>
    public static string GlobalName(LlamaConfig config, int sequenceLength) =>
        config.LongRope is { } longRope && sequenceLength > longRope.OriginalMaxPositionEmbeddings ? LongName : GlobalTable;
}
