using Peft.Net.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchLlama;

/// <summary>
/// The decoder stack (Hugging Face's <c>LlamaModel</c>, the "model" child of <see cref="TorchLlamaForCausalLM"/>):
/// embed_tokens, layers.{i}, norm, and the rotary tables (rotary_emb, nothing saved).
/// </summary>
internal sealed class TorchLlamaModel : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the module names of the state dict
    private nn.Module<Tensor, Tensor> embed_tokens;
    private readonly ModuleList<TorchLlamaDecoderLayer> layers;
    private readonly TorchRmsNorm norm;
    private readonly TorchRotaryEmbedding rotary_emb;
#pragma warning restore IDE1006

    public TorchLlamaModel(LlamaConfig config, TorchLlamaLinear? linear = null) : base(nameof(TorchLlamaModel))
    {
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new TorchLlamaDecoderLayer(config, linear)).ToArray());
        norm = new TorchRmsNorm(config.HiddenSize, config.RmsNormEps);
        rotary_emb = new TorchRotaryEmbedding(config);
        RegisterComponents();
    }

    /// <summary>The input embedding (an <c>Embedding</c>, or whatever surgery put in its place).</summary>
    public nn.Module<Tensor, Tensor> EmbedTokens => embed_tokens;

    // ids: (B, T) int64 → (B, T, C)
    /// <summary>The final normalised hidden states of ids at positions 0 … T − 1.</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var hidden = embed_tokens.forward(ids);
        var (cos, sin) = rotary_emb.Tables(0, ids.shape[1], hidden.device);
        foreach (var layer in layers)
            hidden = layer.forward(hidden, cos, sin);
        return norm.forward(hidden).MoveToOuterDisposeScope();
    }
}
