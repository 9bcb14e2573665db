using System.CommandLine;
using Peft.Net.Cli.Commands;

namespace Peft.Net.Cli;

/// <summary>Builds the `peft` command tree. Each command lives in its own file under Commands/.</summary>
internal static class PeftCli
{
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("peft: parameter-efficient fine-tuning tools for .NET (Peft.Net).");
        root.Subcommands.Add(BenchCommand.Create());
        return await root.Parse(args).InvokeAsync();
    }
}
