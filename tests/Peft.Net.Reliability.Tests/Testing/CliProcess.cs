using System.Diagnostics;

namespace Peft.Net.Reliability.Tests.Testing;

/// <summary>What one child-process run of the built `peft` CLI printed and returned.</summary>
public sealed record CliProcessResult(int ExitCode, string Out, string Error);

/// <summary>Starts the `peft` CLI built beside the tests (<c>dotnet exec peft.dll</c>) as a real child process.</summary>
public static class CliProcess
{
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "peft.dll");

    /// <summary>A started but not awaited CLI process with its output redirected.</summary>
    public static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("exec");
        info.ArgumentList.Add(CliDll);
        foreach (string arg in args) info.ArgumentList.Add(arg);
        info.Environment["NO_COLOR"] = "1";
        return Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
    }

    /// <summary>Runs the CLI to completion (killed after <paramref name="timeout"/>).</summary>
    public static CliProcessResult Run(TimeSpan timeout, params string[] args)
    {
        using var process = Start(args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"peft {string.Join(' ', args)} ran past {timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        return new CliProcessResult(process.ExitCode, output.Result, error.Result);
    }
}
