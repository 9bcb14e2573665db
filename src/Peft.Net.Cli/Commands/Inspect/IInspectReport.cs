using System.Text.Json;
using Peft.Net.Cli.Infrastructure;

namespace Peft.Net.Cli.Commands.Inspect;

/// <summary>What <c>peft inspect</c> found at a path, printable as text or as the properties of one JSON object.</summary>
internal interface IInspectReport
{
    void WriteText(CliConsole console);

    void WriteJson(Utf8JsonWriter json);
}
