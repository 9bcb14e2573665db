using Peft.Net.Core;

namespace Peft.Net.Models;

/// <summary>
/// The decoding loop behind <see cref="LlamaForCausalLM.GenerateBatch"/>: prompts left-padded to the longest with an
/// attention mask (transformers' <c>padding_side="left"</c>), one prefill pass, then one position per row and step.
/// </summary>
internal static class BatchGenerator
{
    public static int[][] Generate(LlamaForCausalLM model, IReadOnlyList<int[]> prompts, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        options.Validate();
        if (prompts.Count == 0)
            throw new ArgumentException("GenerateBatch needs at least one prompt.", nameof(prompts));
        for (int r = 0; r < prompts.Count; r++)
            if (prompts[r] is null || prompts[r].Length == 0)
                throw new ArgumentException($"Prompt {r} is empty; generation needs at least one id (e.g. the BOS token).", nameof(prompts));
        var config = model.Config;
        int batch = prompts.Count, longest = prompts.Max(p => p.Length), total = longest + options.MaxNewTokens;
        if (total > config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(options),
                $"The longest prompt ({longest} ids) plus {options.MaxNewTokens} new tokens exceed the model's max_position_embeddings ({config.MaxPositionEmbeddings}).");
        int pad = config.PadTokenId is { } id && id >= 0 && id < config.VocabSize ? id : 0; // masked out: any valid id does
        var stop = new HashSet<int>(options.StopTokens ?? config.EosTokenIds);

        // Row-major [B, length] ids and mask of everything so far; row r starts with longest − |prompt r| pads.
        var ids = new List<int>[batch];
        var mask = new List<int>[batch];
        var generated = new List<int>[batch];
        var seen = new HashSet<int>[batch];
        var random = new TensorRandom[batch];
        var done = new bool[batch];
        for (int r = 0; r < batch; r++)
        {
            int padding = longest - prompts[r].Length;
            ids[r] = [.. Enumerable.Repeat(pad, padding), .. prompts[r]];
            mask[r] = [.. Enumerable.Repeat(0, padding), .. Enumerable.Repeat(1, prompts[r].Length)];
            generated[r] = new List<int>(options.MaxNewTokens);
            seen[r] = [.. prompts[r]];
            random[r] = new TensorRandom(options.Seed + (ulong)r);
        }

        var cache = options.UseCache ? new KvCache(config, batch, total, model.ActivationPool) : null; // as in Generator
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var _ = Tensor.NoGrad();
            int fresh = longest; // the positions not yet in the cache (all of them without one)
            for (int step = 0; step < options.MaxNewTokens && !done.All(d => d); step++)
            {
                int length = ids[0].Count;
                if (cache is not null && Generator.CrossesLongRopeSwitch(config, cache.Length, fresh))
                {
                    cache.Reset();
                    fresh = length;
                }
                if (cache is null) fresh = length;
                var input = new int[batch * fresh];
                var inputMask = new int[batch * length];
                for (int r = 0; r < batch; r++)
                {
                    ids[r].CopyTo(length - fresh, input, r * fresh, fresh);
                    mask[r].CopyTo(inputMask, r * length);
                }
                var logits = model.LogitsForLastPosition(input, batch, fresh, inputMask, cache).ToArray();
                int vocab = logits.Length / batch;
                for (int r = 0; r < batch; r++)
                {
                    int next = pad;
                    if (!done[r])
                    {
                        next = Generator.Choose(logits.AsSpan(r * vocab, vocab).ToArray(), options, seen[r], random[r]);
                        generated[r].Add(next);
                        seen[r].Add(next);
                        done[r] = stop.Contains(next);
                    }
                    // A finished row keeps a real (masked-in) position, as transformers appends pad ids with mask 1.
                    ids[r].Add(next);
                    mask[r].Add(1);
                }
                fresh = 1;
            }
        }
        finally
        {
            cache?.ReturnBuffers();
            model.Train(wasTraining);
        }
        return generated.Select(g => g.ToArray()).ToArray();
    }
}
