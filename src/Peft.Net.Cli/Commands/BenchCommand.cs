using System.CommandLine;

namespace Peft.Net.Cli.Commands;

/// <summary>`peft bench …`: measures the library's own speed. Each benchmark is a subcommand in its own file.</summary>
internal static class BenchCommand
{
    public static Command Create() => new("bench", "Measure the speed of Peft.Net's kernels.")
    {
        BenchGemmCommand.Create(),
        BenchDequantCommand.Create(),
        BenchTrainCommand.Create(),
        BenchDecodeCommand.Create(),
    };
}
