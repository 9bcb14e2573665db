using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>Small TorchSharp models built the ways users build them, for the surgery tests.</summary>
internal sealed class Attention : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> q_proj, k_proj, v_proj, o_proj;

    public Attention(int dim) : base(nameof(Attention))
    {
        q_proj = nn.Linear(dim, dim, hasBias: false);
        k_proj = nn.Linear(dim, dim, hasBias: false);
        v_proj = nn.Linear(dim, dim, hasBias: false);
        o_proj = nn.Linear(dim, dim, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => o_proj.call(q_proj.call(x) + k_proj.call(x) * v_proj.call(x));
}

/// <summary>Layers in a ModuleList, an MLP in a Sequential, a head in a ModuleDict, an embedding in a field.</summary>
internal sealed class TinyLm : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> embed_tokens;
    public ModuleList<nn.Module<Tensor, Tensor>> layers = new();
    public Sequential mlp;
    public ModuleDict<nn.Module<Tensor, Tensor>> heads = new();
    public nn.Module<Tensor, Tensor> lm_head;

    public TinyLm(int vocab = 40, int dim = 16, int layerCount = 2) : base(nameof(TinyLm))
    {
        embed_tokens = nn.Embedding(vocab, dim);
        for (int i = 0; i < layerCount; i++) layers.Add(new Attention(dim));
        mlp = nn.Sequential(("up_proj", nn.Linear(dim, 2 * dim)), ("act", nn.SiLU()), ("down_proj", nn.Linear(2 * dim, dim)));
        heads.Add("score", nn.Linear(dim, 3));
        lm_head = nn.Linear(dim, vocab, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        var h = embed_tokens.call(ids);
        foreach (var layer in layers) h = h + layer.call(h);
        h = h + mlp.call(h);
        return lm_head.call(h) + heads["score"].call(h).sum(-1, keepdim: true);
    }
}

/// <summary>A model whose field is typed as TorchSharp's sealed Linear: LoRA cannot take its place.</summary>
internal sealed class SealedFieldModel : nn.Module<Tensor, Tensor>
{
    public Linear proj = nn.Linear(8, 8);

    public SealedFieldModel() : base(nameof(SealedFieldModel)) => RegisterComponents();

    public override Tensor forward(Tensor x) => proj.call(x);
}

/// <summary>A TinyLm one level down (<c>model.layers.N…</c>), as HF causal LMs nest their decoder.</summary>
internal sealed class Nested : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> model;

    public Nested(int layerCount) : base(nameof(Nested))
    {
        model = new TinyLm(layerCount: layerCount);
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids) => model.call(ids);
}
