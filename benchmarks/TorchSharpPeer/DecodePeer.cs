using System.Diagnostics;
using System.Text.Json;
using TorchLlama;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchSharpPeer;

/// <summary>
/// The TorchSharp peer of <c>peft bench decode</c>: greedy decoding with a KV cache (<see cref="CachedLlamaDecoder"/>) of the
/// same Llama shape (random weights from <c>--seed</c>, or <c>--model DIR</c>), <c>--prompt-tokens</c> random ids,
/// exactly <c>--new-tokens</c> new ones, under <c>inference_mode</c>. Before timing, the cached decoder's first 8 ids are
/// checked against the model's own uncached greedy decoding. Same timing as ours: one warm-up generation, then
/// <c>--repeats</c> runs; the decode rate counts the tokens after the first over the time from the first to the last
/// (the first comes out of the prefill, reported apart); medians.
/// </summary>
internal static class DecodePeer
{
    private const int CheckedTokens = 8;

    public static int Run(PeerOptions o)
    {
        int repeats = o.Repeats is > 0 ? o.Repeats.Value : 5;
        manual_seed(o.Seed);
        using var model = o.ModelPath is not null ? TorchLlamaCheckpoint.Load(o.ModelPath) : new TorchLlamaForCausalLM(o.Config);
        model.eval();
        var config = model.Config;
        if (o.PromptTokens + o.NewTokens > config.MaxPositionEmbeddings)
        {
            Console.Error.WriteLine($"decode: {o.PromptTokens} prompt ids + {o.NewTokens} new tokens exceed max_position_embeddings ({config.MaxPositionEmbeddings})");
            return 2;
        }
        var generator = new Generator((ulong)o.Seed + 1);
        using var prompt = randint(config.VocabSize, [1, o.PromptTokens], dtype: ScalarType.Int64, generator: generator);
        using var decoder = new CachedLlamaDecoder(model, o.PromptTokens + o.NewTokens);

        long[] promptIds = prompt.data<long>().ToArray();
        int[] uncached = model.GenerateGreedy(promptIds.Select(i => (int)i).ToArray(), CheckedTokens, []);
        int[] cached = Generate(decoder, prompt, CheckedTokens).Ids;
        if (!cached.SequenceEqual(uncached))
        {
            Console.Error.WriteLine($"decode: the cached decoder's ids [{string.Join(",", cached)}] differ from the uncached model's [{string.Join(",", uncached)}]");
            return 1;
        }

        Generate(decoder, prompt, o.NewTokens); // warm-up
        var runs = Enumerable.Range(0, repeats).Select(_ => Generate(decoder, prompt, o.NewTokens)).ToArray();
        double rate = Median(runs.Select(r => r.DecodeTokensPerSecond)), prefillMs = Median(runs.Select(r => r.PrefillMs)), totalMs = Median(runs.Select(r => r.TotalMs));
        if (o.Json)
        {
            using var writer = new Utf8JsonWriter(Console.OpenStandardOutput());
            writer.WriteStartObject();
            writer.WriteString("benchmark", "decode");
            writer.WriteString("peer", $"TorchSharp {typeof(torch).Assembly.GetName().Version} LibTorch {__version__} SDPA, static KV cache, inference_mode");
            writer.WriteNumber("tokens_per_s", rate);
            writer.WriteNumber("best_tokens_per_s", runs.Max(r => r.DecodeTokensPerSecond));
            writer.WriteNumber("prefill_ms", prefillMs);
            writer.WriteNumber("total_ms", totalMs);
            writer.WriteNumber("prompt_tokens", o.PromptTokens);
            writer.WriteNumber("new_tokens", o.NewTokens);
            writer.WriteNumber("threads", get_num_threads());
            writer.WriteNumber("repeats", repeats);
            writer.WriteString("model", o.ModelPath ?? "random");
            writer.WriteEndObject();
            writer.Flush();
            Console.WriteLine();
        }
        else
        {
            Console.WriteLine($"decode {o.ModelPath ?? "random model"} (TorchSharp): {rate:F1} tokens/s after a {prefillMs:F1} ms prefill of {o.PromptTokens} ids "
                + $"({o.NewTokens} new tokens, {totalMs:F0} ms in all; medians of {repeats}), {get_num_threads()} threads");
        }
        return 0;
    }

    private sealed record DecodeRun(int[] Ids, double PrefillMs, double TotalMs, double DecodeTokensPerSecond);

    // prompt: (1, P) int64 → count greedy ids
    private static DecodeRun Generate(CachedLlamaDecoder decoder, Tensor prompt, int count)
    {
        using var inference = inference_mode();
        var ids = new int[count];
        decoder.Reset();
        long start = Stopwatch.GetTimestamp(), first = 0;
        using (var scope = NewDisposeScope())
            ids[0] = (int)decoder.Forward(prompt).argmax().item<long>();
        first = Stopwatch.GetTimestamp();
        for (int i = 1; i < count; i++)
        {
            using var scope = NewDisposeScope();
            using var input = tensor(new long[] { ids[i - 1] }, [1, 1]);
            ids[i] = (int)decoder.Forward(input).argmax().item<long>();
        }
        long end = Stopwatch.GetTimestamp();
        return new DecodeRun(ids, Stopwatch.GetElapsedTime(start, first).TotalMilliseconds, Stopwatch.GetElapsedTime(start, end).TotalMilliseconds,
            (count - 1) / Math.Max(Stopwatch.GetElapsedTime(first, end).TotalSeconds, 1e-9));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
