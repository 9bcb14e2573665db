using System.Text.Json;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core.IO;

namespace Peft.Net.Cli.Commands.Inspect;

/// <summary>One tensor of a safetensors file as inspect lists it.</summary>
internal sealed record TensorRow(string Name, string DType, int[] Shape, long Elements, long Bytes, long DataBegin, long DataEnd);

/// <summary>The tensors, metadata and totals of one .safetensors file.</summary>
internal sealed class TensorFileReport(string path, long fileBytes, long headerBytes,
    IReadOnlyDictionary<string, string> metadata, IReadOnlyList<TensorRow> tensors) : IInspectReport
{
    public string Path { get; } = path;

    public long FileBytes { get; } = fileBytes;

    public long HeaderBytes { get; } = headerBytes;

    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;

    public IReadOnlyList<TensorRow> Tensors { get; } = tensors;

    public long Parameters => Tensors.Sum(t => t.Elements);

    public long Bytes => Tensors.Sum(t => t.Bytes);

    /// <summary>Reads the header of <paramref name="path"/> (the data is not touched).</summary>
    public static TensorFileReport Read(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var rows = file.Entries
            .Select(e => new TensorRow(e.Name, e.DTypeName, e.ShapeArray(), e.ElementCount, e.ByteLength, e.DataBegin, e.DataEnd))
            .ToList();
        return new TensorFileReport(path, file.FileLength, file.HeaderLength, file.Metadata, rows);
    }

    public void WriteText(CliConsole console)
    {
        console.Out.WriteLine($"{Path}: {Tensors.Count} tensors, {Parameters} parameters, {Bytes} bytes of data ({InspectFormat.Size(Bytes)})");
        foreach (var (key, value) in Metadata)
            console.Out.WriteLine($"metadata {key}: {value}");
        if (Tensors.Count == 0)
            return;
        TableOutput.Write(console,
            [new("Name"), new("DType"), new("Shape"), new("Bytes", RightAligned: true)],
            Tensors.Select(t => new[] { t.Name, t.DType, InspectFormat.Shape(t.Shape), InspectFormat.Integer(t.Bytes) }).ToList());
    }

    public void WriteJson(Utf8JsonWriter json)
    {
        json.WriteString("path", Path);
        json.WriteString("kind", "safetensors");
        json.WriteNumber("file_bytes", FileBytes);
        json.WriteNumber("header_bytes", HeaderBytes);
        JsonOutput.WriteStringMap(json, "metadata", Metadata);
        json.WriteStartArray("tensors");
        foreach (var t in Tensors)
        {
            json.WriteStartObject();
            json.WriteString("name", t.Name);
            json.WriteString("dtype", t.DType);
            json.WriteStartArray("shape");
            foreach (int d in t.Shape) json.WriteNumberValue(d);
            json.WriteEndArray();
            json.WriteNumber("elements", t.Elements);
            json.WriteNumber("bytes", t.Bytes);
            json.WriteStartArray("data_offsets");
            json.WriteNumberValue(t.DataBegin);
            json.WriteNumberValue(t.DataEnd);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        WriteTotals(json, Tensors.Count, Parameters, Bytes);
    }

    public static void WriteTotals(Utf8JsonWriter json, long tensors, long parameters, long bytes)
    {
        json.WriteStartObject("totals");
        json.WriteNumber("tensors", tensors);
        json.WriteNumber("parameters", parameters);
        json.WriteNumber("bytes", bytes);
        json.WriteEndObject();
    }
}
