using System.CommandLine;
using Peft.Net.Quantization;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>
/// The flags that choose a 4-bit base as it is loaded (<c>--quant-type nf4|fp4 --blocksize 64 --no-double-quant</c>), shared
/// by <c>peft train --method qlora</c> and <c>peft generate --load-in-4bit</c>. Defaults are QLoRA's.
/// </summary>
internal sealed class FourBitOptions
{
    public Option<string> QuantType { get; } = new("--quant-type")
    {
        Description = "4-bit code book of the quantized base: nf4 (QLoRA) or fp4.",
        DefaultValueFactory = _ => "nf4",
    };

    public Option<int> BlockSize { get; } = new("--blocksize")
    {
        Description = "Elements per absmax of the 4-bit base (32 … 4096).",
        DefaultValueFactory = _ => 64,
    };

    public Option<bool> NoDoubleQuant { get; } = new("--no-double-quant")
    {
        Description = "Keep the 4-bit base's absmax in float32 (QLoRA quantizes them too).",
    };

    public FourBitOptions() => QuantType.AcceptOnlyFromAmong("nf4", "fp4");

    /// <summary>Adds the flags to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(QuantType);
        command.Options.Add(BlockSize);
        command.Options.Add(NoDoubleQuant);
    }

    /// <summary>The settings the parsed flags give.</summary>
    /// <exception cref="CliUserException">The blocksize is not one bitsandbytes supports.</exception>
    public FourBitQuantization Read(ParseResult result)
    {
        int blockSize = result.GetValue(BlockSize);
        if (!QuantizedTensor.SupportedBlockSizes.Contains(blockSize))
            throw new CliUserException($"--blocksize must be one of {string.Join(", ", QuantizedTensor.SupportedBlockSizes)} (got {blockSize})");
        return new FourBitQuantization
        {
            QuantType = result.GetValue(QuantType) == "fp4" ? Quantization.QuantType.Fp4 : Quantization.QuantType.Nf4,
            BlockSize = blockSize,
            DoubleQuant = !result.GetValue(NoDoubleQuant),
        };
    }
}
