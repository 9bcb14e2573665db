using System.CommandLine;
using Peft.Net.Models;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>
/// The flags that give a random Llama-style model its shape (<c>--dim 512 --layers 4 --heads 8 --kv-heads 8 --ffn 1376
/// --vocab 4096</c>), shared by <c>peft bench train</c> and <c>peft bench decode</c>. Defaults are the bench shape.
/// </summary>
internal sealed class ModelShapeOptions
{
    private readonly Option<int> _dim, _layers, _heads, _kvHeads, _ffn, _vocab;

    /// <param name="suffix">Appended to each description (e.g. " of the random model").</param>
    public ModelShapeOptions(string suffix = "")
    {
        Option<int> Int(string name, int value, string description) =>
            new(name) { DefaultValueFactory = _ => value, Description = description + suffix + "." };
        _dim = Int("--dim", 512, "Hidden size");
        _layers = Int("--layers", 4, "Decoder layers");
        _heads = Int("--heads", 8, "Attention heads");
        _kvHeads = Int("--kv-heads", 8, "Key/value heads (grouped-query attention when fewer than --heads)");
        _ffn = Int("--ffn", 1376, "MLP intermediate size");
        _vocab = Int("--vocab", 4096, "Vocabulary size");
    }

    /// <summary>Adds the flags to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new[] { _dim, _layers, _heads, _kvHeads, _ffn, _vocab })
            command.Options.Add(option);
    }

    /// <summary>The config the parsed flags give, with room for <paramref name="positions"/> positions (at least 2048).</summary>
    public LlamaConfig Read(ParseResult result, int positions) => new()
    {
        HiddenSize = result.GetValue(_dim),
        NumHiddenLayers = result.GetValue(_layers),
        NumAttentionHeads = result.GetValue(_heads),
        NumKeyValueHeads = result.GetValue(_kvHeads),
        IntermediateSize = result.GetValue(_ffn),
        VocabSize = result.GetValue(_vocab),
        MaxPositionEmbeddings = Math.Max(2048, positions),
    };
}
