using Peft.Net.Core;

namespace Peft.Net.Models;

/// <summary>The decoding loop behind <see cref="LlamaForCausalLM.Generate"/>: one prefill pass, then one position per step.</summary>
internal static class Generator
{
    public static int[] Generate(LlamaForCausalLM model, ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken)
    {
        options.Validate();
        if (prompt.IsEmpty)
            throw new ArgumentException("Generation needs a prompt of at least one id (e.g. the BOS token).", nameof(prompt));
        var config = model.Config;
        int total = prompt.Length + options.MaxNewTokens;
        if (total > config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(options),
                $"The prompt ({prompt.Length} ids) plus {options.MaxNewTokens} new tokens exceed the model's max_position_embeddings ({config.MaxPositionEmbeddings}).");
        var stop = new HashSet<int>(options.StopTokens ?? config.EosTokenIds);
        var random = new TensorRandom(options.Seed);
        var sequence = new List<int>(total);
        sequence.AddRange(prompt.ToArray());
        var seen = new HashSet<int>(sequence);
        var generated = new List<int>(options.MaxNewTokens);

        // The cache lives for this call only: its buffers come from the model's activation pool (memory a previous
        // call already touched) and go back at the end.
        var cache = options.UseCache ? new KvCache(config, 1, total, model.ActivationPool) : null;
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var _ = Tensor.NoGrad();
            var pending = prompt.ToArray();
            while (generated.Count < options.MaxNewTokens)
            {
                // With a cache only the new ids run; without one the whole sequence is recomputed.
                if (cache is not null && CrossesLongRopeSwitch(config, cache.Length, pending.Length))
                {
                    cache.Reset(); // Phi-3: keys cached with the short factors are recomputed with the long ones
                    pending = sequence.ToArray();
                }
                var input = cache is null ? sequence.ToArray() : pending;
                var logits = model.LogitsForLastPosition(input, 1, input.Length, cache).ToArray();
                int next = Choose(logits, options, seen, random);
                generated.Add(next);
                sequence.Add(next);
                seen.Add(next);
                onToken?.Invoke(next);
                if (stop.Contains(next)) break;
                pending = [next];
            }
        }
        finally
        {
            cache?.ReturnBuffers();
            model.Train(wasTraining);
        }
        return generated.ToArray();
    }

    /// <summary>
    /// Phi-3's <c>prepare_inputs_for_generation</c>: once a longrope sequence first grows past
    /// original_max_position_embeddings, the cache (rotated with the short factors) is dropped and recomputed.
    /// </summary>
    internal static bool CrossesLongRopeSwitch(LlamaConfig config, int cached, int fresh) =>
        config.LongRope is { } longRope && cached > 0 && cached <= longRope.OriginalMaxPositionEmbeddings
        && cached + fresh > longRope.OriginalMaxPositionEmbeddings;

    internal static int Choose(float[] logits, GenerationOptions options, IReadOnlySet<int> seen, TensorRandom random)
    {
        LogitsProcessor.ApplyRepetitionPenalty(logits, seen, options.RepetitionPenalty);
        if (options.Greedy) return LogitsProcessor.ArgMax(logits);
        LogitsProcessor.ApplyTemperature(logits, options.Temperature);
        LogitsProcessor.ApplyTopK(logits, options.TopK);
        LogitsProcessor.ApplyTopP(logits, options.TopP);
        return LogitsProcessor.Sample(logits, random.NextDouble());
    }
}
