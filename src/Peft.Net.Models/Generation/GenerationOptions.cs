namespace Peft.Net.Models;

/// <summary>
/// Decoding settings for <see cref="LlamaForCausalLM.Generate"/>, with Hugging Face's meanings. Greedy decoding
/// (the default) takes the most likely token after the repetition penalty; sampling applies, in this order, the
/// repetition penalty, the temperature, top-k and top-p, then draws from the softmax.
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>The most new tokens to generate (<c>max_new_tokens</c>).</summary>
    public int MaxNewTokens { get; init; } = 32;

    /// <summary>True: take the arg-max token; false: sample (<c>do_sample</c>).</summary>
    public bool Greedy { get; init; } = true;

    /// <summary>Divides the logits before sampling; below 1 sharpens, above 1 flattens (sampling only).</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Keep only the K most likely tokens (ties with the K-th kept); 0 disables (sampling only).</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches P; 1 disables (sampling only).</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>
    /// Penalises every token already in the prompt or the output: positive logits are divided by it, negative ones
    /// multiplied (CTRL / Hugging Face semantics); 1 disables.
    /// </summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>Ids that end generation (the stop id is included in the output); null uses the config's EOS ids, empty never stops early.</summary>
    public IReadOnlyList<int>? StopTokens { get; init; }

    /// <summary>Seed of the sampler's <see cref="Peft.Net.Core.TensorRandom"/>.</summary>
    public ulong Seed { get; init; }

    /// <summary>Use a KV cache (true); false recomputes the whole sequence at every step (slow; for checking).</summary>
    public bool UseCache { get; init; } = true;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its range; the message names it.</exception>
    public void Validate()
    {
        if (MaxNewTokens < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), $"MaxNewTokens must be ≥ 0; got {MaxNewTokens}.");
        if (!(Temperature > 0) || float.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), $"Temperature must be a positive number; got {Temperature}.");
        if (TopK < 0)
            throw new ArgumentOutOfRangeException(nameof(TopK), $"TopK must be ≥ 0 (0 disables it); got {TopK}.");
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), $"TopP must be in (0, 1]; got {TopP}.");
        if (!(RepetitionPenalty > 0) || float.IsInfinity(RepetitionPenalty))
            throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), $"RepetitionPenalty must be a positive number; got {RepetitionPenalty}.");
    }
}
