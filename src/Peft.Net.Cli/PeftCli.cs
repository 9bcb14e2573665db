using System.CommandLine;
using Peft.Net.Cli.Commands;
using Peft.Net.Cli.Infrastructure;

namespace Peft.Net.Cli;

/// <summary>Builds the `peft` command tree. Each command lives in its own file under Commands/ and is only wired here.</summary>
internal static class PeftCli
{
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("peft: parameter-efficient fine-tuning tools for .NET (Peft.Net).");
        root.Options.Add(GlobalOptions.CreateVerbose());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(QuantizeCommand.Create());
        root.Subcommands.Add(DequantizeCommand.Create());
        root.Subcommands.Add(MergeCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(TemplateCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root;
    }

    /// <summary>Runs the command line against the process console.</summary>
    public static Task<int> RunAsync(string[] args) =>
        CreateRootCommand().Parse(args).InvokeAsync(new InvocationConfiguration { Output = Console.Out, Error = Console.Error });

    /// <summary>Runs the command line in-process with its output captured by <paramref name="output"/> and <paramref name="error"/> (tests).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) =>
        CreateRootCommand().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
}
