using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Peft.Net.Core.IO;

namespace Peft.Net.Models.Data;

/// <summary>
/// A dataset in JSON Lines format: one JSON object per line, <c>{"prompt": …, "completion": …}</c>,
/// <c>{"text": …}</c> or <c>{"messages": [{"role": …, "content": …}, …]}</c> (other fields are ignored; blank lines
/// are skipped).
/// </summary>
public sealed class JsonlDataset
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private JsonlDataset(List<DatasetRecord> records, List<JsonlLineError> errors)
    {
        Records = records;
        Errors = errors;
    }

    /// <summary>The rows that were read, in file order.</summary>
    public IReadOnlyList<DatasetRecord> Records { get; }

    /// <summary>The bad lines that were skipped (only with <c>skipBadLines: true</c>).</summary>
    public IReadOnlyList<JsonlLineError> Errors { get; }

    /// <summary>Number of bad lines that were skipped.</summary>
    public int SkippedLineCount => Errors.Count;

    /// <summary>The prompt/completion rows as pairs (text rows left out).</summary>
    public IEnumerable<PromptCompletion> PromptCompletions => Records.Where(r => r.IsPromptCompletion).Select(r => r.ToPromptCompletion());

    /// <summary>The text rows (prompt/completion and conversation rows left out).</summary>
    public IEnumerable<string> Texts => Records.Where(r => r.Text is not null).Select(r => r.Text!);

    /// <summary>The conversation rows' messages (JSON arrays), other rows left out.</summary>
    public IEnumerable<JsonElement> Conversations => Records.Where(r => r.IsChat).Select(r => r.Messages!.Value);

    /// <summary>Reads a JSONL file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="skipBadLines">Skip lines that are not valid rows and list them in <see cref="Errors"/> instead of throwing.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="JsonlFormatException">A line is not a valid row (and <paramref name="skipBadLines"/> is false).</exception>
    public static JsonlDataset Load(string path, bool skipBadLines = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Dataset file '{path}' does not exist.", path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Parse(reader, path, skipBadLines);
    }

    /// <summary>Reads JSONL rows from a reader.</summary>
    /// <param name="reader">The text to read.</param>
    /// <param name="sourceName">Name used in error messages.</param>
    /// <param name="skipBadLines">Skip lines that are not valid rows and list them in <see cref="Errors"/> instead of throwing.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="JsonlFormatException">A line is not a valid row (and <paramref name="skipBadLines"/> is false).</exception>
    public static JsonlDataset Parse(TextReader reader, string sourceName = "JSONL input", bool skipBadLines = false)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var records = new List<DatasetRecord>();
        var errors = new List<JsonlLineError>();
        int lineNumber = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                records.Add(ParseLine(line, sourceName, lineNumber));
            }
            catch (JsonlFormatException e) when (skipBadLines)
            {
                errors.Add(new JsonlLineError(lineNumber, e.Problem));
            }
        }
        return new JsonlDataset(records, errors);
    }

    private static DatasetRecord ParseLine(string line, string source, int lineNumber)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new JsonlFormatException(source, lineNumber, $"not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new JsonlFormatException(source, lineNumber, $"expected a JSON object but found {root.ValueKind}");
            if (root.TryGetProperty("messages", out var messages) && messages.ValueKind != JsonValueKind.Null)
            {
                if (DatasetRecord.ValidateMessages(messages) is { } problem) throw new JsonlFormatException(source, lineNumber, problem);
                return DatasetRecord.FromMessages(messages);
            }
            string? prompt = StringField(root, "prompt", source, lineNumber);
            string? completion = StringField(root, "completion", source, lineNumber);
            string? text = StringField(root, "text", source, lineNumber);
            if (prompt is not null && completion is not null) return DatasetRecord.FromPromptCompletion(prompt, completion);
            if (prompt is not null || completion is not null)
                throw new JsonlFormatException(source, lineNumber,
                    prompt is null ? "has \"completion\" but no \"prompt\"" : "has \"prompt\" but no \"completion\"");
            if (text is not null) return DatasetRecord.FromText(text);
            throw new JsonlFormatException(source, lineNumber, "needs \"prompt\" and \"completion\", \"text\", or \"messages\"");
        }
    }

    private static string? StringField(JsonElement root, string name, string source, int lineNumber)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String)
            throw new JsonlFormatException(source, lineNumber, $"\"{name}\" must be a string but is {value.ValueKind}");
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException e)
        {
            // An escape that is not valid UTF-16, e.g. an unpaired surrogate "\ud800".
            throw new JsonlFormatException(source, lineNumber, $"\"{name}\" is not valid Unicode ({e.Message})", e);
        }
    }

    /// <summary>
    /// Writes rows to a JSONL file (UTF-8 without BOM, one object per line, '\n' line ends), atomically: a crash
    /// mid-write leaves the previous file (or none), never a partial one.
    /// </summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="records">The rows.</param>
    public static void Save(string path, IEnumerable<DatasetRecord> records)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(records);
        AtomicFile.Write(path, stream => Write(stream, records));
    }

    /// <summary>Writes prompt/completion pairs to a JSONL file.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="examples">The pairs.</param>
    public static void Save(string path, IEnumerable<PromptCompletion> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        Save(path, examples.Select(e => DatasetRecord.FromPromptCompletion(e.Prompt, e.Completion)));
    }

    /// <summary>Writes plain-text rows to a JSONL file.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="texts">The texts.</param>
    public static void SaveTexts(string path, IEnumerable<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        Save(path, texts.Select(DatasetRecord.FromText));
    }

    /// <summary>Writes rows as JSONL to a stream (UTF-8, one object per line).</summary>
    /// <param name="stream">The destination; left open.</param>
    /// <param name="records">The rows.</param>
    public static void Write(Stream stream, IEnumerable<DatasetRecord> records)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(records);
        foreach (var record in records)
        {
            using (var writer = new Utf8JsonWriter(stream, WriterOptions))
            {
                writer.WriteStartObject();
                if (record.IsChat)
                {
                    writer.WritePropertyName("messages");
                    record.Messages!.Value.WriteTo(writer);
                }
                else if (record.IsPromptCompletion)
                {
                    writer.WriteString("prompt", record.Prompt);
                    writer.WriteString("completion", record.Completion);
                }
                else
                {
                    writer.WriteString("text", record.Text);
                }
                writer.WriteEndObject();
            }
            stream.WriteByte((byte)'\n');
        }
    }
}
