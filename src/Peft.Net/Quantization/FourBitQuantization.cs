namespace Peft.Net.Quantization;

/// <summary>
/// How a model's linear layers are stored in 4-bit when it is loaded (transformers' <c>BitsAndBytesConfig(load_in_4bit=True,
/// …)</c>): the code book, the blocksize, double quantization, and the layers kept as they are. The defaults are QLoRA's:
/// NF4, blocksize 64, double quantization, every linear layer but the output head.
/// </summary>
public sealed record FourBitQuantization
{
    /// <summary>QLoRA's settings: NF4, blocksize 64, double quantization, only the output head kept.</summary>
    public static FourBitQuantization QLoRA { get; } = new();

    /// <summary>NF4 (default; bitsandbytes' <c>bnb_4bit_quant_type="nf4"</c>) or FP4.</summary>
    public QuantType QuantType { get; init; } = QuantType.Nf4;

    /// <summary>Elements per absmax: 32, 64 (default), 128, 256, 512, 1024, 2048 or 4096.</summary>
    public int BlockSize { get; init; } = 64;

    /// <summary>Quantize the absmax too (bitsandbytes' <c>bnb_4bit_use_double_quant</c>); default true.</summary>
    public bool DoubleQuant { get; init; } = true;

    /// <summary>
    /// Layers kept in their checkpoint dtype (bitsandbytes' <c>llm_int8_skip_modules</c>): a dotted path
    /// (<c>model.layers.0.mlp.down_proj</c>) or a path suffix matched at a dot (<c>down_proj</c> keeps every
    /// <c>….down_proj</c>). The output head is always kept, as in bitsandbytes and PEFT.
    /// </summary>
    public IReadOnlyList<string> SkipModules { get; init; } = [];

    /// <summary>True when the layer at <paramref name="path"/> is listed in <see cref="SkipModules"/>.</summary>
    public bool Skips(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (string pattern in SkipModules)
            if (path == pattern || path.EndsWith("." + pattern, StringComparison.Ordinal))
                return true;
        return false;
    }

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">The quant type or blocksize is not supported, or a skip pattern is empty.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(QuantType))
            throw new ArgumentException($"Unknown quant type {(int)QuantType}; expected Nf4 or Fp4.");
        if (!QuantizedTensor.SupportedBlockSizes.Contains(BlockSize))
            throw new ArgumentException($"Blocksize {BlockSize} is not supported; use one of {string.Join(", ", QuantizedTensor.SupportedBlockSizes)}.");
        if (SkipModules is null || SkipModules.Any(string.IsNullOrEmpty))
            throw new ArgumentException("SkipModules must hold module paths or suffixes, not null or empty strings.");
    }
}
