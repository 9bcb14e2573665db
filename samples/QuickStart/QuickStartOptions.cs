namespace QuickStart;

/// <summary>Command-line options: <c>[--quick] [--model DIR] [--out DIR]</c>.</summary>
internal sealed record QuickStartOptions(bool Quick, string? ModelDirectory, string OutputDirectory)
{
    public static QuickStartOptions Parse(string[] args)
    {
        bool quick = false;
        string? model = null;
        string output = Path.Combine("out", "quickstart");
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--model" when i + 1 < args.Length: model = args[++i]; break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'. Usage: QuickStart [--quick] [--model <checkpoint dir>] [--out <dir>]");
            }
        }
        return new QuickStartOptions(quick, model, output);
    }

    /// <summary>Pre-training steps for the randomly initialised base model.</summary>
    public int PretrainSteps => Quick ? 40 : 250;

    /// <summary>LoRA fine-tuning steps.</summary>
    public int FineTuneSteps => Quick ? 30 : 450;
}
