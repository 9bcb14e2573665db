using System.Text.Json;
using Peft.Net.Cli.Infrastructure;

namespace Peft.Net.Cli.Commands.Inspect;

/// <summary>The .safetensors files of a folder with their totals, and the shard indexes (<c>*.safetensors.index.json</c>) checked against them.</summary>
internal sealed class ModelFolderReport(string path, IReadOnlyList<TensorFileReport> files, IReadOnlyList<ShardIndex> indexes) : IInspectReport
{
    public string Path { get; } = path;

    public IReadOnlyList<TensorFileReport> Files { get; } = files;

    public IReadOnlyList<ShardIndex> Indexes { get; } = indexes;

    /// <exception cref="CliUserException">The folder has no safetensors files, or an index does not match them.</exception>
    public static ModelFolderReport Read(string folder)
    {
        var files = Directory.GetFiles(folder, "*.safetensors")
            .Order(StringComparer.Ordinal)
            .Select(TensorFileReport.Read)
            .ToList();
        var byName = files.ToDictionary(f => System.IO.Path.GetFileName(f.Path), StringComparer.Ordinal);
        var indexes = Directory.GetFiles(folder, "*.safetensors.index.json")
            .Order(StringComparer.Ordinal)
            .Select(index => ShardIndex.Read(index, byName))
            .ToList();
        if (files.Count == 0)
            throw new CliUserException($"{folder}: no .safetensors files (and no adapter_config.json) in this folder");
        return new ModelFolderReport(folder, files, indexes);
    }

    private long Tensors => Files.Sum(f => (long)f.Tensors.Count);

    private long Parameters => Files.Sum(f => f.Parameters);

    private long Bytes => Files.Sum(f => f.Bytes);

    public void WriteText(CliConsole console)
    {
        console.Out.WriteLine($"{Path}: {Files.Count} safetensors files, {Tensors} tensors, {Parameters} parameters, {Bytes} bytes of data ({InspectFormat.Size(Bytes)})");
        foreach (var index in Indexes)
            console.Out.WriteLine($"index {index.FileName}: {index.WeightMap.Count} tensors in {index.Shards.Count} shards" +
                (index.TotalSize is long size ? $", total_size {size}" : ""));
        TableOutput.Write(console,
            [new("File"), new("Tensors", RightAligned: true), new("Parameters", RightAligned: true), new("Bytes", RightAligned: true)],
            Files.Select(f => new[]
            {
                System.IO.Path.GetFileName(f.Path), InspectFormat.Integer(f.Tensors.Count),
                InspectFormat.Integer(f.Parameters), InspectFormat.Integer(f.Bytes),
            }).ToList());
    }

    public void WriteJson(Utf8JsonWriter json)
    {
        json.WriteString("path", Path);
        json.WriteString("kind", "folder");
        json.WriteStartArray("files");
        foreach (var f in Files)
        {
            json.WriteStartObject();
            json.WriteString("file", System.IO.Path.GetFileName(f.Path));
            json.WriteNumber("tensors", f.Tensors.Count);
            json.WriteNumber("parameters", f.Parameters);
            json.WriteNumber("bytes", f.Bytes);
            JsonOutput.WriteStringMap(json, "metadata", f.Metadata);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteStartArray("indexes");
        foreach (var index in Indexes)
            index.WriteJson(json);
        json.WriteEndArray();
        TensorFileReport.WriteTotals(json, Tensors, Parameters, Bytes);
    }
}
