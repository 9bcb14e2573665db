using Microsoft.Extensions.Logging;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>
/// An <see cref="ILogger"/> that prints the library's log lines (information and above; debug with --verbose) as plain
/// lines on a writer: <c>info: …</c>, <c>warn: …</c>. Used where no progress bar owns the terminal.
/// </summary>
internal sealed class CliLogger(TextWriter output, LogLevel minimum = LogLevel.Information) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        string prefix = logLevel switch
        {
            LogLevel.Trace or LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            _ => "error",
        };
        lock (output)
            output.WriteLine($"{prefix}: {formatter(state, exception)}");
    }
}
