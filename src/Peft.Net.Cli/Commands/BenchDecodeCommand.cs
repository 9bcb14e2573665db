using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Models;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft bench decode [--model &lt;dir | .gguf&gt;] [--dim 512 --layers 4 --heads 8 --kv-heads 8 --ffn 1376 --vocab 4096]
/// [--seed 0] [--prompt-tokens 128] [--new-tokens 128] [--threads N] [--repeats 5] [--json]</c>: greedy decoding with the
/// KV cache (<see cref="LlamaForCausalLM.Generate"/>, never stopping early) of a model folder, or of a randomly initialised
/// Llama of the <c>bench train</c> shape, after one warm-up generation. The prompt is <c>--prompt-tokens</c> random ids.
/// Reports the median over the repeats of the decode rate — the new tokens after the first, divided by the time from the
/// first to the last (the first token comes out of the prefill pass) — and of the prefill time.
/// </summary>
internal static class BenchDecodeCommand
{
    public static Command Create()
    {
        Option<int> Int(string name, int value, string description) => new(name) { DefaultValueFactory = _ => value, Description = description };
        var model = new Option<string?>("--model") { Description = "A model folder (config.json + model.safetensors) or a .gguf file (default: a random model of the shape flags)." };
        var shape = new ModelShapeOptions(" of the random model");
        var seed = Int("--seed", 0, "Seed of the random weights (the prompt ids use seed + 1).");
        var promptTokens = Int("--prompt-tokens", 128, "Prompt length in ids.");
        var newTokens = Int("--new-tokens", 128, "Tokens generated per run (no early stop).");
        var threads = Int("--threads", 0, "Threads to use (0: the PEFT_NUM_THREADS environment variable, else every core).");
        var repeats = Int("--repeats", 5, "Timed generations (after one warm-up); the medians are reported.");
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var command = new Command("decode", "Measure greedy decoding with the KV cache in tokens/s.")
        {
            model, seed, promptTokens, newTokens, threads, repeats, json,
        };
        shape.AddTo(command);
        command.SetCliAction((r, console) =>
        {
            var settings = new DecodeSettings(r.GetValue(model), r.GetValue(seed), r.GetValue(promptTokens), r.GetValue(newTokens),
                r.GetValue(threads), r.GetValue(repeats));
            return Run(console, settings, shape.Read(r, settings.PromptTokens + settings.NewTokens), r.GetValue(json));
        });
        return command;
    }

    private sealed record DecodeSettings(string? ModelPath, int Seed, int PromptTokens, int NewTokens, int Threads, int Repeats);

    private static int Run(CliConsole console, DecodeSettings s, LlamaConfig randomShape, bool json)
    {
        if (s.PromptTokens < 1 || s.NewTokens < 2 || s.Repeats < 1 || s.Threads < 0 || s.Seed < 0)
            throw new CliUserException(
                $"bench decode: --prompt-tokens ≥ 1, --new-tokens ≥ 2, --repeats ≥ 1, --threads ≥ 0 and --seed ≥ 0 are required (got {s.PromptTokens}, {s.NewTokens}, {s.Repeats}, {s.Threads}, {s.Seed})");
        ComputeSettings.ThreadCount = s.Threads;
        var model = s.ModelPath is not null ? ModelSource.Load(s.ModelPath) : RandomModel(randomShape, s.Seed);
        var config = model.Config;
        if (s.PromptTokens + s.NewTokens > config.MaxPositionEmbeddings)
            throw new CliUserException(
                $"bench decode: {s.PromptTokens} prompt ids + {s.NewTokens} new tokens exceed the model's max_position_embeddings ({config.MaxPositionEmbeddings})");
        var random = new TensorRandom((ulong)s.Seed + 1);
        var prompt = new int[s.PromptTokens];
        for (int i = 0; i < prompt.Length; i++) prompt[i] = random.NextInt(config.VocabSize);
        var options = new GenerationOptions { MaxNewTokens = s.NewTokens, StopTokens = [] };

        Measure(model, prompt, options); // warm-up: first-touch allocations, packed weights, JIT
        var runs = Enumerable.Range(0, s.Repeats).Select(_ => Measure(model, prompt, options)).ToArray();
        double decodeTokensPerSecond = Median(runs.Select(x => x.DecodeTokensPerSecond));
        double prefillMs = Median(runs.Select(x => x.PrefillMs));
        double totalMs = Median(runs.Select(x => x.TotalMs));
        string kernel = Gemm.BestPath.ToString();
        long weightBytes = WeightBytesPerToken(model);
        double weightGbPerSecond = weightBytes * decodeTokensPerSecond / 1e9;
        double readGbPerSecond = ReadBandwidth.Measure();
        if (json)
        {
            JsonOutput.WriteObject(console.Out, w =>
            {
                w.WriteString("benchmark", "decode");
                w.WriteNumber("tokens_per_s", decodeTokensPerSecond);
                w.WriteNumber("best_tokens_per_s", runs.Max(x => x.DecodeTokensPerSecond));
                w.WriteNumber("prefill_ms", prefillMs);
                w.WriteNumber("total_ms", totalMs);
                w.WriteNumber("prompt_tokens", s.PromptTokens);
                w.WriteNumber("new_tokens", s.NewTokens);
                w.WriteNumber("threads", ComputeSettings.ThreadCount);
                w.WriteNumber("repeats", s.Repeats);
                w.WriteString("model", s.ModelPath ?? "random");
                w.WriteString("kernel", kernel);
                w.WriteNumber("weight_bytes_per_token", weightBytes);
                w.WriteNumber("weight_gb_per_s", weightGbPerSecond);
                w.WriteNumber("read_gb_per_s", readGbPerSecond);
            });
        }
        else
        {
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"decode {s.ModelPath ?? "random model"}: {decodeTokensPerSecond:F1} tokens/s after a {prefillMs:F1} ms prefill of {s.PromptTokens} ids "
                + $"({s.NewTokens} new tokens, {totalMs:F0} ms in all; medians of {s.Repeats}), {ComputeSettings.ThreadCount} threads, GEMM kernel {kernel}"));
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"weights read per token: {weightBytes / 1e6:F1} MB, so {weightGbPerSecond:F1} GB/s; this machine reads memory at {readGbPerSecond:F1} GB/s on {ComputeSettings.ThreadCount} threads"));
        }
        return CliAction.Success;
    }

    /// <summary>
    /// Bytes of weights one decode step reads: every parameter once, except the input embedding table, of which a
    /// step reads one row (unless lm_head is tied to it, when the head reads all of it).
    /// </summary>
    private static long WeightBytesPerToken(LlamaForCausalLM model)
    {
        long bytes = 0;
        foreach (var (name, parameter) in model.NamedParameters())
            if (model.Config.TieWordEmbeddings || !name.EndsWith("embed_tokens.weight", StringComparison.Ordinal))
                bytes += (long)parameter.Count * parameter.DType.SizeOf();
        return bytes;
    }

    private static LlamaForCausalLM RandomModel(LlamaConfig config, int seed)
    {
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUserException($"bench decode: model shape: {e.Message}", e);
        }
        var model = new LlamaForCausalLM(config, new TensorRandom((ulong)seed));
        model.Eval();
        return model;
    }

    private readonly record struct DecodeRun(double PrefillMs, double TotalMs, double DecodeTokensPerSecond);

    // The first token is chosen from the prefill's logits; every later one costs one cached decode step.
    private static DecodeRun Measure(LlamaForCausalLM model, int[] prompt, GenerationOptions options)
    {
        long start = Stopwatch.GetTimestamp();
        long first = 0;
        int count = 0;
        var generated = model.Generate(prompt, options, _ =>
        {
            if (count++ == 0) first = Stopwatch.GetTimestamp();
        });
        long end = Stopwatch.GetTimestamp();
        if (generated.Length != options.MaxNewTokens)
            throw new InvalidOperationException($"bench decode: generated {generated.Length} tokens instead of {options.MaxNewTokens}.");
        double decodeSeconds = Stopwatch.GetElapsedTime(first, end).TotalSeconds;
        return new DecodeRun(Stopwatch.GetElapsedTime(start, first).TotalMilliseconds, Stopwatch.GetElapsedTime(start, end).TotalMilliseconds,
            (generated.Length - 1) / Math.Max(decodeSeconds, 1e-9));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
