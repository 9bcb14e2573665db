namespace Peft.Net.Adapters;

/// <summary>File names of an adapter folder in Hugging Face PEFT layout, and the atomic write they share.</summary>
public static class AdapterFiles
{
    /// <summary>The adapter's configuration: <c>adapter_config.json</c>.</summary>
    public const string ConfigFile = "adapter_config.json";

    /// <summary>The adapter's tensors: <c>adapter_model.safetensors</c>.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    /// <summary>The prefix PEFT's <c>PeftModel</c> puts before every module path in the tensor keys.</summary>
    public const string KeyPrefix = "base_model.model.";

    /// <summary>The safetensors metadata PEFT writes: <c>{"format": "pt"}</c>.</summary>
    public static IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>Writes <paramref name="text"/> (UTF-8, no BOM) to a temporary file beside <paramref name="path"/>, flushes it and renames it over the target.</summary>
    internal static void WriteTextAtomically(string path, string text) => Peft.Net.Core.IO.AtomicFile.WriteAllText(path, text);
}
