namespace QLoraFineTune;

/// <summary>Command-line options: <c>[--quick] [--out DIR]</c>.</summary>
public sealed record QLoraOptions(bool Quick, string OutputDirectory)
{
    public const string Usage = "Usage: QLoraFineTune [--quick] [--out <dir>]";

    public static QLoraOptions Parse(string[] args)
    {
        bool quick = false;
        string output = Path.Combine("out", "qlora");
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'. {Usage}");
            }
        }
        return new QLoraOptions(quick, output);
    }

    public int PretrainSteps => Quick ? 30 : 250;

    public int FineTuneSteps => Quick ? 20 : 300;

    public int ExampleCount => Quick ? 120 : 2000;

    public int BatchSize => Quick ? 4 : 8;
}
