using System.Globalization;

namespace TorchSharpFineTune;

/// <summary>Command-line options: <c>[--quick] [--model DIR] [--out DIR] [--threads N]</c>.</summary>
public sealed record TorchFineTuneOptions(bool Quick, string? ModelDirectory, string OutputDirectory, int? Threads)
{
    public const string Usage = "Usage: TorchSharpFineTune [--quick] [--model <byte-level HF checkpoint dir>] [--out <dir>] [--threads N]";

    public static TorchFineTuneOptions Parse(string[] args)
    {
        bool quick = false;
        string? model = null;
        string output = Path.Combine("out", "torchsharp-finetune");
        int? threads = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--model" when i + 1 < args.Length: model = args[++i]; break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                case "--threads" when i + 1 < args.Length:
                    threads = int.TryParse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0
                        ? n
                        : throw new ArgumentException($"--threads needs a positive integer, not '{args[i]}'. {Usage}");
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'. {Usage}");
            }
        }
        return new TorchFineTuneOptions(quick, model, output, threads);
    }

    /// <summary>Steps the engine pre-trains the generated base model for (when no --model is given).</summary>
    public int PretrainSteps => Quick ? 30 : 250;

    /// <summary>LoRA fine-tuning steps on TorchSharp.</summary>
    public int FineTuneSteps => Quick ? 40 : 450;

    /// <summary>Generated fine-tuning examples (90 % train, 10 % eval).</summary>
    public int ExampleCount => Quick ? 400 : 2400;

    /// <summary>Sequences per training step.</summary>
    public int BatchSize => 8;

    /// <summary>AdamW learning rate of the LoRA weights.</summary>
    public double LearningRate => 3e-3;

    /// <summary>Ids generated per prompt in the greedy comparison.</summary>
    public int MaxNewTokens => 24;
}
