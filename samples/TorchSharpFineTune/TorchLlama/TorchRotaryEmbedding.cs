using Peft.Net.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchLlama;

/// <summary>
/// Rotary position embedding as Hugging Face's <c>LlamaRotaryEmbedding</c> (rotate-half form): inverse frequencies
/// <c>1/θ^(2i/D)</c> in float32 (with the "llama3" <c>rope_scaling</c> when the config has one), angles
/// <c>position · inv_freq</c>, <c>emb = cat(freqs, freqs)</c>, and cos/sin of that. "inv_freq" is a
/// non-persistent buffer, so it is not part of the state dict (as in transformers).
/// </summary>
internal sealed class TorchRotaryEmbedding : nn.Module
{
    public TorchRotaryEmbedding(LlamaConfig config) : base(nameof(TorchRotaryEmbedding))
    {
        long d = config.ResolvedHeadDim;
        // HF: 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)), all in float32.
        var exponents = arange(0, d, 2, dtype: ScalarType.Int64).to_type(ScalarType.Float32) / (float)d;
        var inverse = 1.0f / pow(tensor((float)config.RopeTheta), exponents);
        if (config.RopeScaling is { } scaling)
        {
            // The llama3 scaling is one float32 formula per frequency; the engine's implementation of it is shared.
            float[] scaled = scaling.Apply(inverse.data<float>().ToArray());
            inverse = tensor(scaled);
        }
        register_buffer("inv_freq", inverse, persistent: false);
    }

    /// <summary>inv_freq [D/2].</summary>
    public Tensor InverseFrequencies => get_buffer("inv_freq")!;

    // → cos, sin: (T, D) for positions start … start + T − 1
    /// <summary>The cos and sin tables of <paramref name="time"/> positions from <paramref name="start"/>.</summary>
    public (Tensor Cos, Tensor Sin) Tables(long start, long time, Device device)
    {
        using var scope = NewDisposeScope();
        var inverse = InverseFrequencies.to(device);
        var positions = arange(start, start + time, dtype: ScalarType.Float32, device: device);
        var freqs = outer(positions, inverse);                     // (T, D/2)
        var emb = cat([freqs, freqs], dim: -1);                    // (T, D)
        return (emb.cos().MoveToOuterDisposeScope(), emb.sin().MoveToOuterDisposeScope());
    }

    // x: (B, H, T, D), cos/sin: (T, D) → (B, H, T, D)
    /// <summary><c>x · cos + rotate_half(x) · sin</c>.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([-x2, x1], dim: -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
