using Peft.Net.Core.IO;

namespace Peft.Net.Models;

/// <summary>
/// The safetensors files of a Hugging Face model folder, opened (memory-mapped) the way <see cref="LlamaForCausalLM.FromPretrained"/>
/// opens them: <c>model.safetensors</c>, or every shard listed in <c>model.safetensors.index.json</c>. For loaders of
/// other frameworks (the TorchSharp sample's Llama) that read the same checkpoints.
/// </summary>
public static class HfWeightFiles
{
    /// <summary>Opens the folder's weight files; the caller disposes them.</summary>
    /// <param name="directory">The model folder.</param>
    /// <returns>The single file, or the shards in order of first appearance in the index.</returns>
    /// <exception cref="FileNotFoundException">Neither file exists, or a listed shard is missing.</exception>
    /// <exception cref="InvalidDataException">The index is not valid JSON or its weight_map is malformed.</exception>
    public static IReadOnlyList<SafetensorsFile> Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return LlamaCheckpoint.OpenWeightFiles(directory);
    }
}
