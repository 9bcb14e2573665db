using System.Text.Json;
using Peft.Net.Cli.Infrastructure;

namespace Peft.Net.Cli.Commands.Inspect;

/// <summary>
/// A sharded checkpoint's index (<c>model.safetensors.index.json</c>): <c>{"metadata": {"total_size": n},
/// "weight_map": {tensor: shard file}}</c>, checked against the shards in the folder.
/// </summary>
internal sealed class ShardIndex(string fileName, IReadOnlyDictionary<string, string> weightMap, long? totalSize)
{
    public string FileName { get; } = fileName;

    public IReadOnlyDictionary<string, string> WeightMap { get; } = weightMap;

    /// <summary>The <c>metadata.total_size</c> the index declares, if any.</summary>
    public long? TotalSize { get; } = totalSize;

    /// <summary>The shard files the index refers to, in first-use order.</summary>
    public IReadOnlyList<string> Shards => WeightMap.Values.Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Reads <paramref name="path"/> and checks that each mapped tensor is in its shard among <paramref name="shards"/>.</summary>
    /// <exception cref="CliUserException">The index is malformed, names a missing shard, or a tensor its shard lacks.</exception>
    public static ShardIndex Read(string path, IReadOnlyDictionary<string, TensorFileReport> shards)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new CliUserException($"{path}: not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CliUserException($"{path}: expected an object with a 'weight_map' object (tensor name → shard file)");
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CliUserException($"{path}: tensor '{entry.Name}' is mapped to {entry.Value.ValueKind}, not a shard file name");
                string shard = entry.Value.GetString()!;
                if (!shards.TryGetValue(shard, out var report))
                    throw new CliUserException($"{path}: tensor '{entry.Name}' is mapped to shard '{shard}', which is not a .safetensors file in the folder");
                if (!report.Tensors.Any(t => t.Name == entry.Name))
                    throw new CliUserException($"{path}: tensor '{entry.Name}' is mapped to shard '{shard}', which does not contain it");
                weightMap[entry.Name] = shard;
            }
            long? totalSize = root.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
                && metadata.TryGetProperty("total_size", out var size) && size.TryGetInt64(out long n) ? n : null;
            return new ShardIndex(Path.GetFileName(path), weightMap, totalSize);
        }
    }

    public void WriteJson(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("file", FileName);
        json.WriteNumber("tensors", WeightMap.Count);
        if (TotalSize is long size) json.WriteNumber("total_size", size);
        else json.WriteNull("total_size");
        json.WriteStartArray("shards");
        foreach (var shard in Shards) json.WriteStringValue(shard);
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
