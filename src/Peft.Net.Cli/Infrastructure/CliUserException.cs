namespace Peft.Net.Cli.Infrastructure;

/// <summary>
/// A problem with the user's input that a command detected itself (missing path, inconsistent index…). Its
/// message is printed as <c>error: &lt;message&gt;</c> and the command exits with code 1; the message should start
/// with the file or tensor it is about.
/// </summary>
internal sealed class CliUserException(string message, Exception? innerException = null) : Exception(message, innerException);
