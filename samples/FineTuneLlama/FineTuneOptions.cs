using System.Globalization;

namespace FineTuneLlama;

/// <summary>Command-line options.</summary>
public sealed record FineTuneOptions(string? ModelDirectory, string? DataFile, string OutputDirectory, int Steps, int Rank,
    double LearningRate, int BatchSize, int MaxLength, bool Chat = false)
{
    public const string Usage =
        "Usage: FineTuneLlama --model <checkpoint dir> --data <file.jsonl> [--out <dir>] [--steps 100] [--rank 8] [--lr 2e-4] [--batch 4] [--max-length 256]\n" +
        "       FineTuneLlama --mode chat --model <instruct checkpoint dir> [--data <messages.jsonl>] …  (chat fine-tuning; without --data a small\n" +
        "       {\"messages\"} dataset is generated, and the tuned model answers a few questions at the end)";

    public static FineTuneOptions Parse(string[] args)
    {
        var options = new FineTuneOptions(null, null, Path.Combine("out", "finetune-llama"), 100, 8, 2e-4, 4, 256);
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Length || !name.StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"Unknown or incomplete argument '{name}'. {Usage}");
            string value = args[++i];
            options = name switch
            {
                "--model" => options with { ModelDirectory = value },
                "--data" => options with { DataFile = value },
                "--out" => options with { OutputDirectory = value },
                "--steps" => options with { Steps = PositiveInt(name, value) },
                "--rank" => options with { Rank = PositiveInt(name, value) },
                "--lr" => options with { LearningRate = double.Parse(value, CultureInfo.InvariantCulture) },
                "--batch" => options with { BatchSize = PositiveInt(name, value) },
                "--max-length" => options with { MaxLength = PositiveInt(name, value) },
                "--mode" => value switch
                {
                    "chat" => options with { Chat = true },
                    "completion" => options with { Chat = false },
                    _ => throw new ArgumentException($"--mode is chat or completion, not '{value}'. {Usage}"),
                },
                _ => throw new ArgumentException($"Unknown argument '{name}'. {Usage}"),
            };
        }
        return options;
    }

    private static int PositiveInt(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new ArgumentException($"{name} needs a positive integer, not '{value}'. {Usage}");
}
