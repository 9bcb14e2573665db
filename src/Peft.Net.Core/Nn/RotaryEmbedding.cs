namespace Peft.Net.Core.Nn;

/// <summary>
/// Rotary position embedding tables as Hugging Face's <c>LlamaRotaryEmbedding</c>: inverse frequencies
/// <c>1/θ^(2i/D)</c>, angles <c>position · inv_freq</c> in float32, <c>emb = cat(freqs, freqs)</c>, and
/// cos/sin of that cached for positions [0, maxPositions). <see cref="Apply(Tensor, ReadOnlySpan{int}, int)"/>
/// rotates queries or keys with <see cref="Ops.Rotary(Tensor, Tensor, Tensor, ReadOnlySpan{int}, int)"/>.
/// The tables are non-persistent buffers ("inv_freq", "cos_cached", "sin_cached"): not part of the state dict.
/// </summary>
public sealed class RotaryEmbedding : Module
{
    /// <summary>Default tables for head dimension D and base θ, optionally with llama3 frequency scaling.</summary>
    /// <param name="headDim">D: the per-head dimension (even).</param>
    /// <param name="maxPositions">Number of positions the tables cover (<c>max_position_embeddings</c>).</param>
    /// <param name="theta">The base θ (<c>rope_theta</c>): 10000 for Llama 2, 500000 for Llama 3.</param>
    /// <param name="scaling">Optional llama3 <c>rope_scaling</c> applied to the inverse frequencies.</param>
    public RotaryEmbedding(int headDim, int maxPositions, double theta = 10000, Llama3RopeScaling? scaling = null)
        : this(ScaledFrequencies(headDim, theta, scaling), maxPositions)
    {
    }

    /// <summary>
    /// Tables from given inverse frequencies (D/2 of them), for other <c>rope_scaling</c> types: the hook for
    /// scaled frequencies and an attention scaling that multiplies cos and sin (1 for default and llama3 rope).
    /// </summary>
    /// <param name="inverseFrequencies">inv_freq [D/2].</param>
    /// <param name="maxPositions">Number of positions the tables cover.</param>
    /// <param name="attentionScaling">Factor applied to cos and sin (<c>attention_scaling</c>).</param>
    /// <exception cref="ArgumentException">No frequencies, or maxPositions ≤ 0.</exception>
    public RotaryEmbedding(float[] inverseFrequencies, int maxPositions, float attentionScaling = 1f)
    {
        ArgumentNullException.ThrowIfNull(inverseFrequencies);
        if (inverseFrequencies.Length == 0)
            throw new ArgumentException("RotaryEmbedding needs at least one inverse frequency (head dimension ≥ 2).", nameof(inverseFrequencies));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPositions);
        int half = inverseFrequencies.Length;
        HeadDim = 2 * half;
        MaxPositions = maxPositions;
        AttentionScaling = attentionScaling;

        var cos = Tensor.Zeros(maxPositions, HeadDim);
        var sin = Tensor.Zeros(maxPositions, HeadDim);
        var c = cos.AsSpan();
        var s = sin.AsSpan();
        for (int p = 0; p < maxPositions; p++)
        for (int j = 0; j < half; j++)
        {
            // freqs = position · inv_freq in float32 (HF's matmul with K = 1), then cos/sin rounded to float.
            float angle = p * inverseFrequencies[j];
            float cj = (float)Math.Cos(angle) * attentionScaling;
            float sj = (float)Math.Sin(angle) * attentionScaling;
            c[p * HeadDim + j] = c[p * HeadDim + half + j] = cj;
            s[p * HeadDim + j] = s[p * HeadDim + half + j] = sj;
        }
        RegisterBuffer("inv_freq", Tensor.FromArray(inverseFrequencies), persistent: false);
        RegisterBuffer("cos_cached", cos, persistent: false);
        RegisterBuffer("sin_cached", sin, persistent: false);
    }

    /// <summary>
    /// Hugging Face's default inverse frequencies in float32: <c>1 / θ^((2i)/D)</c> for i in [0, D/2), with the
    /// exponent and the reciprocal rounded to float as PyTorch computes them.
    /// </summary>
    /// <exception cref="ArgumentException">D is not a positive even number or θ ≤ 0.</exception>
    public static float[] DefaultInverseFrequencies(int headDim, double theta)
    {
        if (headDim <= 0 || headDim % 2 != 0)
            throw new ArgumentException($"The rotary head dimension must be positive and even; got {headDim}.", nameof(headDim));
        if (!(theta > 0))
            throw new ArgumentException($"rope_theta must be positive; got {theta}.", nameof(theta));
        var frequencies = new float[headDim / 2];
        float thetaF = (float)theta;
        for (int i = 0; i < frequencies.Length; i++)
        {
            float exponent = (float)(2 * i) / headDim;
            frequencies[i] = 1f / (float)Math.Pow(thetaF, exponent);
        }
        return frequencies;
    }

    /// <summary>D: the head dimension.</summary>
    public int HeadDim { get; }

    /// <summary>Number of positions the tables cover.</summary>
    public int MaxPositions { get; }

    /// <summary>The factor applied to cos and sin.</summary>
    public float AttentionScaling { get; }

    /// <summary>inv_freq [D/2].</summary>
    public Tensor InverseFrequencies => Buffer("inv_freq");

    /// <summary>cos table [maxPositions, D].</summary>
    public Tensor Cos => Buffer("cos_cached");

    /// <summary>sin table [maxPositions, D].</summary>
    public Tensor Sin => Buffer("sin_cached");

    // x: (..., T, ..., D) → same
    /// <summary>Rotates x ([B, H, T, D] by default; <paramref name="timeDim"/> = 1 for [B, T, H, D]) at the given positions (T, or B·T).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A position is ≥ <see cref="MaxPositions"/>.</exception>
    public Tensor Apply(Tensor x, ReadOnlySpan<int> positions, int timeDim = -2) => Ops.Rotary(x, Cos, Sin, positions, timeDim);

    /// <summary>Rotates x at positions startPosition, startPosition + 1, … along <paramref name="timeDim"/>.</summary>
    public Tensor Apply(Tensor x, int startPosition, int timeDim = -2) => Ops.Rotary(x, Cos, Sin, startPosition, timeDim);

    /// <summary>Rotates x ([..., T, D]) at positions 0, 1, …, T − 1.</summary>
    public override Tensor Forward(Tensor input) => Apply(input, 0);

    private static float[] ScaledFrequencies(int headDim, double theta, Llama3RopeScaling? scaling)
    {
        var frequencies = DefaultInverseFrequencies(headDim, theta);
        return scaling is null ? frequencies : scaling.Apply(frequencies);
    }
}
