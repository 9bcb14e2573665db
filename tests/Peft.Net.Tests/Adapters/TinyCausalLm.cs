using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Tests.Adapters;

/// <summary>
/// A tiny Llama-shaped causal LM with Hugging Face module names (model.embed_tokens, model.layers.N.self_attn.{q,k,v,o}_proj,
/// model.layers.N.mlp.{gate,up,down}_proj, model.norm, lm_head). The math is simplified (sums instead of attention and
/// SiLU) and mirrored by tests/fixtures/make_adapter.py. Every child is called through Module.Forward, so LoRA surgery
/// takes effect.
/// </summary>
internal sealed class TinyCausalLm : Module, Peft.Net.Lora.IPeftTaskModel
{
    public const int Vocab = 32, Hidden = 16, Ffn = 24;

    public string PeftTaskType => "CAUSAL_LM";

    public TinyCausalLm(ulong seed = 7, int layers = 2)
    {
        var random = new TensorRandom(seed);
        RegisterModule("model", new TinyModel(random, layers));
        RegisterModule("lm_head", new Linear(Hidden, Vocab, bias: false, random));
    }

    /// <summary>ids: I32 [B, T] → logits [B, T, V].</summary>
    public override Tensor Forward(Tensor input) => Child<Module>("lm_head").Forward(Child<Module>("model").Forward(input));

    public Tensor Logits(int[,] ids)
    {
        int b = ids.GetLength(0), t = ids.GetLength(1);
        var tensor = Tensor.Empty(DType.I32, b, t);
        var span = tensor.AsSpan<int>();
        for (int i = 0; i < b; i++)
            for (int j = 0; j < t; j++)
                span[i * t + j] = ids[i, j];
        using var _ = Tensor.NoGrad();
        return Forward(tensor);
    }

    /// <summary>Loads base weights saved with HF key names (tests/fixtures/adapters/base.safetensors).</summary>
    public static TinyCausalLm FromFile(string path)
    {
        var model = new TinyCausalLm();
        model.LoadStateDict(Core.IO.Safetensors.Load(path));
        return model;
    }

    private sealed class TinyModel : Module
    {
        public TinyModel(TensorRandom random, int layers)
        {
            RegisterModule("embed_tokens", new Embedding(Vocab, Hidden, random));
            RegisterModule("layers", new LayerList(random, layers));
            RegisterModule("norm", new RmsNorm(Hidden));
        }

        public override Tensor Forward(Tensor input)
        {
            var h = Child<Module>("embed_tokens").Forward(input);
            h = Child<Module>("layers").Forward(h);
            return Child<Module>("norm").Forward(h);
        }
    }

    private sealed class LayerList : Module
    {
        public LayerList(TensorRandom random, int layers)
        {
            for (int i = 0; i < layers; i++) RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), new DecoderLayer(random));
        }

        public override Tensor Forward(Tensor input)
        {
            foreach (var (_, layer) in NamedChildren()) input = layer.Forward(input);
            return input;
        }
    }

    private sealed class DecoderLayer : Module
    {
        public DecoderLayer(TensorRandom random)
        {
            RegisterModule("self_attn", new Attention(random));
            RegisterModule("mlp", new Mlp(random));
        }

        public override Tensor Forward(Tensor input)
        {
            var h = input + Child<Module>("self_attn").Forward(input);
            return h + Child<Module>("mlp").Forward(h);
        }
    }

    private sealed class Attention : Module
    {
        public Attention(TensorRandom random)
        {
            RegisterModule("q_proj", new Linear(Hidden, Hidden, bias: true, random));
            RegisterModule("k_proj", new Linear(Hidden, Hidden, bias: true, random));
            RegisterModule("v_proj", new Linear(Hidden, Hidden, bias: true, random));
            RegisterModule("o_proj", new Linear(Hidden, Hidden, bias: false, random));
        }

        public override Tensor Forward(Tensor x) =>
            Child<Module>("o_proj").Forward(Child<Module>("q_proj").Forward(x) + Child<Module>("k_proj").Forward(x) + Child<Module>("v_proj").Forward(x));
    }

    private sealed class Mlp : Module
    {
        public Mlp(TensorRandom random)
        {
            RegisterModule("gate_proj", new Linear(Hidden, Ffn, bias: false, random));
            RegisterModule("up_proj", new Linear(Hidden, Ffn, bias: false, random));
            RegisterModule("down_proj", new Linear(Ffn, Hidden, bias: false, random));
        }

        public override Tensor Forward(Tensor x) =>
            Child<Module>("down_proj").Forward(Child<Module>("gate_proj").Forward(x) + Child<Module>("up_proj").Forward(x));
    }
}
