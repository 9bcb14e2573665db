using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>Writes the single JSON object that a command prints with <c>--json</c>, on one line (pipe it to <c>jq</c> to read it).</summary>
internal static class JsonOutput
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // tensor names stay readable; output is not HTML
    };

    /// <summary>Writes <c>{ … }</c> with the properties <paramref name="writeProperties"/> adds, then a newline.</summary>
    public static void WriteObject(TextWriter output, Action<Utf8JsonWriter> writeProperties)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            writeProperties(json);
            json.WriteEndObject();
        }
        output.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    /// <summary>Writes <paramref name="name"/>: { key: value, … } for a string map.</summary>
    public static void WriteStringMap(Utf8JsonWriter json, string name, IEnumerable<KeyValuePair<string, string>> map)
    {
        json.WriteStartObject(name);
        foreach (var (key, value) in map)
            json.WriteString(key, value);
        json.WriteEndObject();
    }
}
