using System.CommandLine;
using Peft.Net.Cli.Infrastructure;

namespace Peft.Net.Cli.Tests;

/// <summary>The shared error handling every command goes through.</summary>
public sealed class CliActionTests
{
    private static CliResult Invoke(Func<ParseResult, CliConsole, int> action, params string[] args)
    {
        var root = new RootCommand("test") { GlobalOptions.CreateVerbose() };
        var command = new Command("probe", "test command");
        command.SetCliAction(action);
        root.Subcommands.Add(command);
        var output = new StringWriter();
        var error = new StringWriter();
        int code = root.Parse(["probe", .. args]).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return new CliResult(code, output.ToString(), error.ToString());
    }

    [Fact]
    public void OutputGoesToTheGivenWriter()
    {
        var result = Invoke((_, console) => { console.Out.WriteLine("hello"); return 0; });
        Assert.Equal((0, "hello"), (result.ExitCode, result.Out.Trim()));
        Assert.Equal("", result.Error);
    }

    public static TheoryData<Exception> UserErrors()
    {
        const string message = "x.safetensors: something\nis wrong";
        return
        [
            new CliUserException(message), new IOException(message), new FileNotFoundException(message),
            new NotSupportedException(message), new UnauthorizedAccessException(message), new System.Text.Json.JsonException(message),
            new Peft.Net.Core.IO.SafetensorsFormatException("x.safetensors", null, "something\nis wrong"),
        ];
    }

    [Theory]
    [MemberData(nameof(UserErrors))]
    public void UserErrorsExitWithOneAndOneLine(Exception exception)
    {
        var result = Invoke((_, _) => throw exception);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: x.safetensors: something is wrong", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void UnexpectedExceptionsExitWithTwo()
    {
        var result = Invoke((_, _) => throw new InvalidOperationException("bug"));
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: internal error (InvalidOperationException): bug", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void VerbosePrintsTheStackTrace()
    {
        var result = Invoke((_, _) => throw new InvalidOperationException("bug"), "--verbose");
        Assert.Equal(2, result.ExitCode);
        Assert.True(result.ErrorLines.Length > 2);
        Assert.Contains("System.InvalidOperationException: bug", result.Error);
        Assert.Contains(" at ", result.Error);
    }

    [Fact]
    public void TheExitCodeOfTheCommandIsReturned()
    {
        Assert.Equal(3, Invoke((_, _) => 3).ExitCode);
    }

    [Fact]
    public void TheRootCommandListsInspect()
    {
        var result = CliRunner.Run("--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("inspect", result.Out);
    }
}
