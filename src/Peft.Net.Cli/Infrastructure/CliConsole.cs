using System.CommandLine;
using Spectre.Console;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>
/// Where a command writes: standard output and error as <see cref="TextWriter"/>s (so tests run commands
/// in-process and read what they printed), and whether output goes to an interactive terminal (tables and
/// progress bars) or to a pipe or file (plain lines).
/// </summary>
internal sealed class CliConsole(TextWriter output, TextWriter error, bool isTerminal)
{
    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>True when <see cref="Out"/> is the process's standard output and that is an interactive terminal.</summary>
    public bool IsTerminal { get; } = isTerminal;

    /// <summary>The console of an invocation: the writers given to <see cref="PeftCli.Run"/> (the process console by default).</summary>
    public static CliConsole From(ParseResult parseResult)
    {
        var configuration = parseResult.InvocationConfiguration;
        bool terminal = ReferenceEquals(configuration.Output, Console.Out) && !Console.IsOutputRedirected;
        return new CliConsole(configuration.Output, configuration.Error, terminal);
    }

    /// <summary>A Spectre.Console renderer over <see cref="Out"/>, for tables and progress on a terminal.</summary>
    public IAnsiConsole Ansi() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Out) });
}
