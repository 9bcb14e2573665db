using System.Text.Json;
using Peft.Net.Cli.Infrastructure;

namespace Peft.Net.Cli.Commands.Merge;

/// <summary>
/// The base model given to <c>peft merge</c>: one .safetensors file, or a model folder with <c>model.safetensors</c>
/// or shards listed by <c>model.safetensors.index.json</c> (any other single .safetensors file also works).
/// </summary>
internal sealed class BaseCheckpoint(string path, bool isFolder, IReadOnlyList<string> shards)
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>The file or folder given.</summary>
    public string Path { get; } = path;

    public bool IsFolder { get; } = isFolder;

    /// <summary>Full paths of the safetensors files, in index order.</summary>
    public IReadOnlyList<string> Shards { get; } = shards;

    /// <exception cref="CliUserException">The path does not exist, or the folder holds no usable safetensors files.</exception>
    public static BaseCheckpoint Find(string path)
    {
        if (File.Exists(path))
            return new BaseCheckpoint(path, false, [System.IO.Path.GetFullPath(path)]);
        if (!Directory.Exists(path))
            throw new CliUserException($"{path}: no such file or folder (--base must be a .safetensors file or a model folder)");
        string index = System.IO.Path.Combine(path, IndexFile);
        if (File.Exists(index))
            return new BaseCheckpoint(path, true, ReadIndexShards(index));
        string single = System.IO.Path.Combine(path, SingleFile);
        if (File.Exists(single))
            return new BaseCheckpoint(path, true, [System.IO.Path.GetFullPath(single)]);
        var files = Directory.GetFiles(path, "*.safetensors");
        return files.Length == 1
            ? new BaseCheckpoint(path, true, [System.IO.Path.GetFullPath(files[0])])
            : throw new CliUserException(files.Length == 0
                ? $"{path}: no {SingleFile}, {IndexFile} or other .safetensors file in this folder"
                : $"{path}: {files.Length} .safetensors files but no {IndexFile} saying which are the model's shards");
    }

    private static List<string> ReadIndexShards(string index)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(index));
        }
        catch (JsonException e)
        {
            throw new CliUserException($"{index}: not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CliUserException($"{index}: expected an object with a 'weight_map' object (tensor name → shard file)");
            var shards = new List<string>();
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CliUserException($"{index}: tensor '{entry.Name}' is mapped to {entry.Value.ValueKind}, not a shard file name");
                string shard = System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(index)!, entry.Value.GetString()!));
                if (!shards.Contains(shard))
                {
                    if (!File.Exists(shard))
                        throw new CliUserException($"{index}: tensor '{entry.Name}' is mapped to shard '{entry.Value.GetString()}', which does not exist");
                    shards.Add(shard);
                }
            }
            return shards.Count > 0 ? shards : throw new CliUserException($"{index}: 'weight_map' is empty");
        }
    }
}
