using Peft.Net.Core;
using Peft.Net.Quantization;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>A <c>--model</c> argument: a Hugging Face model folder or a .gguf file (CLI.md: accepted wherever a folder is).</summary>
internal static class ModelSource
{
    /// <summary>True when <paramref name="path"/> names a .gguf file (by extension).</summary>
    public static bool IsGguf(string path) => path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);

    /// <summary>The model of a folder (<see cref="LlamaForCausalLM.FromPretrained"/>) or a .gguf file (<see cref="LlamaForCausalLM.FromGguf"/>, float32).</summary>
    public static LlamaForCausalLM Load(string path, DType? dtype = null, bool loadIn4Bit = false, FourBitQuantization? quantization = null)
    {
        try
        {
            if (!IsGguf(path)) return LlamaForCausalLM.FromPretrained(path, dtype, loadIn4Bit, quantization);
            if (!File.Exists(path)) throw new CliUserException($"{path}: no such .gguf file");
            if (quantization is null) return LlamaForCausalLM.FromGguf(path, dtype, loadIn4Bit);
            var model = LlamaForCausalLM.FromGguf(path, dtype);
            model.QuantizeNf4(quantization);
            return model;
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or NotSupportedException)
        {
            throw new CliUserException(e.Message, e);
        }
    }

    /// <summary>The tokenizer stored in a .gguf file's metadata.</summary>
    public static ITokenizer Tokenizer(string path)
    {
        try
        {
            return GgufTokenizer.FromGguf(path);
        }
        catch (NotSupportedException e)
        {
            throw new CliUserException(e.Message, e);
        }
    }

    /// <summary>The config of a folder's config.json or of a .gguf file's metadata.</summary>
    public static LlamaConfig Config(string path)
    {
        try
        {
            if (!IsGguf(path)) return LlamaConfig.Load(path);
            return LlamaConfig.FromGguf(path);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or NotSupportedException)
        {
            throw new CliUserException(e.Message, e);
        }
    }
}
