namespace Peft.Net.Models;

/// <summary>
/// Phi-3's "longrope" <c>rope_scaling</c> (the legacy "su" and "yarn" types are read as this, as Phi3Config does):
/// each rotary frequency is divided by a per-dimension factor, <see cref="ShortFactor"/> while the sequence stays
/// within <see cref="OriginalMaxPositionEmbeddings"/> and <see cref="LongFactor"/> beyond, and cos/sin are multiplied by
/// <see cref="AttentionFactor"/> (Hugging Face <c>_compute_longrope_parameters</c>).
/// </summary>
/// <param name="ShortFactor">rotary_dim / 2 divisors used up to the original context (<c>short_factor</c>).</param>
/// <param name="LongFactor">rotary_dim / 2 divisors used beyond it (<c>long_factor</c>).</param>
/// <param name="OriginalMaxPositionEmbeddings">The pre-training context (top-level <c>original_max_position_embeddings</c>).</param>
/// <param name="AttentionFactor">The cos/sin multiplier (<c>attention_factor</c>); null derives it from the context extension.</param>
public sealed record LongRopeScaling(IReadOnlyList<double> ShortFactor, IReadOnlyList<double> LongFactor, int OriginalMaxPositionEmbeddings,
    double? AttentionFactor = null)
{
    /// <summary>
    /// The cos/sin multiplier for a model of <paramref name="maxPositionEmbeddings"/> positions: the given one, or
    /// √(1 + ln(factor) / ln(original)) with factor = max / original when that exceeds 1, else 1.
    /// </summary>
    public double ResolvedAttentionFactor(int maxPositionEmbeddings)
    {
        if (AttentionFactor is { } given) return given;
        double factor = (double)maxPositionEmbeddings / OriginalMaxPositionEmbeddings;
        return factor <= 1 ? 1 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(OriginalMaxPositionEmbeddings));
    }

    /// <summary>
    /// Inverse frequencies <c>1 / (ext[i] · θ^(2i/rotaryDim))</c> in float32, with ext the long or the short factors.
    /// </summary>
    public float[] InverseFrequencies(int rotaryDim, double theta, bool longContext)
    {
        var factors = longContext ? LongFactor : ShortFactor;
        var frequencies = new float[rotaryDim / 2];
        float thetaF = (float)theta;
        for (int i = 0; i < frequencies.Length; i++)
        {
            float power = (float)Math.Pow(thetaF, (float)(2 * i) / rotaryDim);
            frequencies[i] = 1f / ((float)factors[i] * power);
        }
        return frequencies;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"longrope(short_factor[{ShortFactor.Count}], long_factor[{LongFactor.Count}], original_max_position_embeddings {OriginalMaxPositionEmbeddings}, attention_factor {AttentionFactor?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "derived"})";
}
