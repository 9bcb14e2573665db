using System.CommandLine;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>Options every command accepts (added once to the root, recursive).</summary>
internal static class GlobalOptions
{
    public const string VerboseName = "--verbose";

    /// <summary>
    /// A new <c>--verbose</c> option (print stack traces with errors). Each root gets its own instance, since a
    /// symbol records its parents and roots may be built concurrently; actions read it by name.
    /// </summary>
    public static Option<bool> CreateVerbose() => new(VerboseName, "-v")
    {
        Description = "Show stack traces with errors.",
        Recursive = true,
    };

    /// <summary>Whether <c>--verbose</c> was given (false when the root has no such option).</summary>
    public static bool IsVerbose(ParseResult parseResult) =>
        parseResult.RootCommandResult.Command.Options.Any(o => o.Name == VerboseName) && parseResult.GetValue<bool>(VerboseName);
}
