using System.Text.RegularExpressions;
using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Quantization;

namespace Peft.Net;

/// <summary>QLoRA's first step: turn a model's linear layers into frozen 4-bit <see cref="Nf4Linear"/> layers in place.</summary>
public static class Nf4ModelExtensions
{
    /// <summary>
    /// Replaces every <see cref="Linear"/> of <paramref name="model"/> (<see cref="Module.ReplaceSubmodule"/>) by an
    /// <see cref="Nf4Linear"/>, except the output head and the excluded layers. The output head is any layer named
    /// <c>lm_head</c> and any layer whose output features equal the vocabulary size of the model's first
    /// <see cref="Embedding"/> (a head under another name); bitsandbytes and PEFT keep it in full precision too.
    /// Biases are shared with the old layers. Call it before adding adapters.
    /// </summary>
    /// <param name="model">The model to convert.</param>
    /// <param name="quantType">NF4 (QLoRA) or FP4.</param>
    /// <param name="blockSize">Elements per absmax (64 in QLoRA).</param>
    /// <param name="doubleQuant">Quantize the absmax too (QLoRA's double quantization, ≈ 0.37 bits per parameter saved).</param>
    /// <param name="exclude">Layers to keep: a dotted path (<c>model.layers.0.mlp.down_proj</c>) or a path suffix
    /// matched at a dot (<c>down_proj</c> keeps every <c>….down_proj</c>).</param>
    /// <returns>Which layers were converted and the bytes before and after.</returns>
    public static Nf4QuantizationSummary QuantizeNf4(this Module model, QuantType quantType = QuantType.Nf4, int blockSize = 64,
        bool doubleQuant = true, IEnumerable<string>? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var patterns = exclude?.ToArray() ?? [];
        return Convert(model, quantType, blockSize, doubleQuant,
            path => patterns.Any(p => path == p || path.EndsWith("." + p, StringComparison.Ordinal)));
    }

    /// <summary>
    /// As <see cref="QuantizeNf4(Module, QuantType, int, bool, IEnumerable{string}?)"/> with the settings of
    /// <paramref name="quantization"/> (its <see cref="FourBitQuantization.SkipModules"/> are the exclusions): what
    /// loading a checkpoint with those settings gives, quantized after loading instead.
    /// </summary>
    /// <exception cref="ArgumentException">The settings are not valid.</exception>
    public static Nf4QuantizationSummary QuantizeNf4(this Module model, FourBitQuantization quantization)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(quantization);
        quantization.Validate();
        return Convert(model, quantization.QuantType, quantization.BlockSize, quantization.DoubleQuant, quantization.Skips);
    }

    /// <summary>
    /// As <see cref="QuantizeNf4(Module, QuantType, int, bool, IEnumerable{string}?)"/>, keeping every layer whose dotted
    /// path matches <paramref name="exclude"/> (searched anywhere in the path; anchor it with ^…$ for whole paths).
    /// </summary>
    public static Nf4QuantizationSummary QuantizeNf4(this Module model, Regex exclude, QuantType quantType = QuantType.Nf4,
        int blockSize = 64, bool doubleQuant = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(exclude);
        return Convert(model, quantType, blockSize, doubleQuant, exclude.IsMatch);
    }

    private static Nf4QuantizationSummary Convert(Module model, QuantType quantType, int blockSize, bool doubleQuant, Func<string, bool> excluded)
    {
        if (!QuantizedTensor.SupportedBlockSizes.Contains(blockSize))
            throw new ArgumentException($"Blocksize {blockSize} is not supported; use one of {string.Join(", ", QuantizedTensor.SupportedBlockSizes)}.", nameof(blockSize));
        int? vocabulary = model.NamedModules().Select(m => m.Module).OfType<Embedding>().FirstOrDefault()?.NumEmbeddings;
        var linears = model.NamedModules().Where(m => m.Module is Linear && m.Name.Length > 0).ToList();
        var converted = new List<string>();
        var skipped = new List<string>();
        long parameters = 0, before = 0, after = 0;
        foreach (var (path, module) in linears)
        {
            var linear = (Linear)module;
            bool isHead = path == "lm_head" || path.EndsWith(".lm_head", StringComparison.Ordinal) || linear.OutFeatures == vocabulary;
            if (isHead || excluded(path))
            {
                skipped.Add(path);
                continue;
            }
            var layer = Nf4Linear.FromLinear(linear, quantType, blockSize, doubleQuant);
            model.ReplaceSubmodule(path, layer);
            converted.Add(path);
            parameters += linear.Weight.Count;
            before += (long)linear.Weight.Count * linear.Weight.DType.SizeOf();
            after += layer.Weight.StorageBytes;
        }
        return new Nf4QuantizationSummary(converted, skipped, parameters, before, after);
    }
}
