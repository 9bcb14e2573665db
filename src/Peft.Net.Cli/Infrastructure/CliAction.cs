using System.CommandLine;
using System.Text.Json;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>
/// The one place that turns exceptions into exit codes, so every command reports errors the same way:
/// 0 success; 1 bad input (one line <c>error: &lt;file/tensor&gt;: &lt;problem&gt;</c> on stderr, the stack trace only
/// with <c>--verbose</c>); 2 an unexpected failure (a bug), reported with its type and message.
/// </summary>
internal static class CliAction
{
    public const int Success = 0;
    public const int UserError = 1;
    public const int InternalError = 2;

    /// <summary>Sets <paramref name="run"/> as the command's action, wrapped in the shared error handling.</summary>
    public static void SetCliAction(this Command command, Func<ParseResult, CliConsole, int> run) =>
        command.SetAction(parseResult => Invoke(parseResult, run));

    private static int Invoke(ParseResult parseResult, Func<ParseResult, CliConsole, int> run)
    {
        var console = CliConsole.From(parseResult);
        try
        {
            return run(parseResult, console);
        }
        catch (Exception e) when (IsUserError(e))
        {
            Report(console, parseResult, e, $"error: {e.Message}");
            return UserError;
        }
        catch (Exception e)
        {
            Report(console, parseResult, e, $"error: internal error ({e.GetType().Name}): {e.Message}");
            return InternalError;
        }
    }

    /// <summary>Exceptions that mean the input is wrong rather than the program: unreadable or malformed files, unsupported content.</summary>
    internal static bool IsUserError(Exception e) =>
        e is CliUserException or IOException or InvalidDataException or FormatException or UnauthorizedAccessException
            or NotSupportedException or JsonException;

    private static void Report(CliConsole console, ParseResult parseResult, Exception e, string line)
    {
        console.Error.WriteLine(OneLine(line));
        if (GlobalOptions.IsVerbose(parseResult))
            console.Error.WriteLine(e.ToString());
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").TrimEnd();
}
