namespace MethodsShowdown;

/// <summary>Command-line options: <c>[--quick] [--out DIR]</c>.</summary>
public sealed record ShowdownOptions(bool Quick, string OutputDirectory)
{
    public const string Usage = "Usage: MethodsShowdown [--quick] [--out <dir>]";

    public static ShowdownOptions Parse(string[] args)
    {
        bool quick = false;
        string output = Path.Combine("out", "methods-showdown");
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'. {Usage}");
            }
        }
        return new ShowdownOptions(quick, output);
    }

    /// <summary>Full-weight pre-training steps of the randomly initialised base model.</summary>
    public int PretrainSteps => Quick ? 30 : 200;

    /// <summary>Fine-tuning steps, the same for every method.</summary>
    public int FineTuneSteps => Quick ? 20 : 200;

    /// <summary>Generated instruction examples (90 % train, 10 % eval).</summary>
    public int ExampleCount => Quick ? 120 : 1600;

    public int BatchSize => Quick ? 4 : 8;
}
