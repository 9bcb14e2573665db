using Peft.Net.Adapters;
using Peft.Net.Lora;
using Peft.Net.Core.IO;
using Peft.Net.Core.IO.Gguf;

namespace Peft.Net.Models.Gguf;

/// <summary>
/// A PEFT LoRA adapter folder → the LoRA GGUF that llama.cpp applies over a base model at load time
/// (<c>general.type = adapter</c>, <c>adapter.type = lora</c>, <c>adapter.lora.alpha</c>, tensors
/// <c>&lt;base name&gt;.lora_a</c> [in, r] and <c>.lora_b</c> [r, out] in ggml order, F32), as
/// convert_lora_to_gguf.py writes it: lora_b rows of q/k permuted like the base weights for architecture
/// <c>llama</c>. llama.cpp scales every pair by alpha / r; where PEFT's scale differs (rsLoRA, rank or alpha
/// patterns) the ratio is folded into lora_b, so the adapter computes PEFT's exact scale.
/// </summary>
public static class GgufLoraAdapter
{
    /// <summary>Writes the adapter in <paramref name="adapterDirectory"/> for a base model of <paramref name="baseConfig"/> (temporary file, then rename).</summary>
    /// <param name="adapterDirectory">The PEFT adapter folder (adapter_config.json + adapter_model.safetensors).</param>
    /// <param name="baseConfig">The base model's config (architecture, head counts for the q/k permutation).</param>
    /// <param name="path">The .gguf file to write.</param>
    /// <exception cref="FileNotFoundException">A file of the adapter folder is missing.</exception>
    /// <exception cref="NotSupportedException">The adapter has parts llama.cpp cannot apply (DoRA magnitudes, LoRA biases, embedding LoRA, full modules_to_save tensors, a module with no GGUF name).</exception>
    public static void Export(string adapterDirectory, LlamaConfig baseConfig, string path)
    {
        ArgumentNullException.ThrowIfNull(adapterDirectory);
        ArgumentNullException.ThrowIfNull(baseConfig);
        string configPath = Path.Combine(adapterDirectory, AdapterFiles.ConfigFile), weightsPath = Path.Combine(adapterDirectory, AdapterFiles.WeightsFile);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{adapterDirectory}: no {AdapterFiles.ConfigFile}.", configPath);
        if (!File.Exists(weightsPath)) throw new FileNotFoundException($"{adapterDirectory}: no {AdapterFiles.WeightsFile}.", weightsPath);
        var config = LoraConfig.Load(configPath);
        if (config.UseDora) throw new NotSupportedException($"{configPath}: DoRA adapters cannot be expressed as a llama.cpp LoRA GGUF; merge the adapter (peft export gguf --adapter) instead.");
        string arch = LlamaGgufNames.Architecture(baseConfig);
        using var file = SafetensorsFile.Open(weightsPath);
        var layout = AdapterKeys.Group(file.Entries.Select(e => e.Name), weightsPath);
        if (layout.FullTensors.Count > 0)
            throw new NotSupportedException($"{weightsPath}: full tensors ({string.Join(", ", layout.FullTensors.Keys.Take(5))}) from modules_to_save cannot go into a LoRA GGUF; merge the adapter instead.");

        float alpha = (float)config.LoraAlpha;
        var writer = new GgufWriter()
            .Add("general.architecture", GgufValue.String(arch))
            .Add("general.type", GgufValue.String("adapter"))
            .Add("general.name", GgufValue.String(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(adapterDirectory)))))
            .Add("adapter.type", GgufValue.String("lora"))
            .Add("adapter.lora.alpha", GgufValue.Float32(alpha));
        foreach (var module in layout.Modules)
        {
            if (module.Kind != AdapterModuleKind.Linear || module.MagnitudeKey is not null || module.LoraBiasKey is not null)
                throw new NotSupportedException($"{weightsPath}: module '{module.ModulePath}' is a {module.Kind} adapter{(module.MagnitudeKey is null ? "" : " with DoRA magnitudes")}{(module.LoraBiasKey is null ? "" : " with a LoRA bias")}; only linear LoRA pairs go into a llama.cpp adapter.");
            string baseName = LlamaGgufNames.ModuleToGguf(module.ModulePath)
                              ?? throw new NotSupportedException($"{weightsPath}: module '{module.ModulePath}' has no llama.cpp tensor name.");
            if (module.ModulePath == "lm_head" && baseConfig.TieWordEmbeddings)
                throw new NotSupportedException($"{weightsPath}: the base model ties lm_head to the embedding, so llama.cpp has no output.weight to adapt.");
            var a = file.ReadTensorAsFloat32(module.KeyA);
            var b = file.ReadTensorAsFloat32(module.KeyB);
            if (a.Rank != 2 || b.Rank != 2 || a.Dim(0) != b.Dim(1))
                throw new AdapterFormatException(weightsPath, $"module '{module.ModulePath}': lora_A {a.Describe()} and lora_B {b.Describe()} do not form a rank-r pair");
            int rank = a.Dim(0);
            // llama.cpp scales by alpha / r (r = this pair's rank); fold PEFT's own scale into B where it differs.
            float peft = config.ScalingFor(config.RankFor(module.ModulePath), config.AlphaFor(module.ModulePath));
            float llama = alpha / rank;
            float fold = peft / llama;
            int heads = LlamaGgufNames.PermutedHeads(module.ModulePath + ".weight", baseConfig);
            int[] aShape = a.ShapeArray(), bShape = b.ShapeArray();
            writer.AddTensor(baseName + ".weight.lora_a", aShape, GgmlType.F32, a.ToArray);
            writer.AddTensor(baseName + ".weight.lora_b", bShape, GgmlType.F32, () =>
            {
                float[] values = b.ToArray();
                if (fold != 1f)
                    for (int i = 0; i < values.Length; i++) values[i] *= fold;
                return heads > 0 ? QkPermutation.ToGguf(values, heads, rank) : values;
            });
        }
        writer.Write(path);
    }
}
