using Peft.Net.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchLlama;

/// <summary>
/// A Llama-family causal language model (Llama 2/3, SmolLM, Qwen2, Mistral without sliding window) written in
/// TorchSharp with Hugging Face's module and parameter names: <c>model.embed_tokens</c>,
/// <c>model.layers.{i}.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj}</c>,
/// <c>model.norm</c> and <c>lm_head</c> (its weight the very parameter of <c>model.embed_tokens.weight</c> when the
/// config ties them). Load a checkpoint folder with <see cref="TorchLlamaCheckpoint.Load"/>.
/// </summary>
internal sealed class TorchLlamaForCausalLM : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the module names of the state dict
    private readonly TorchLlamaModel model;
    private nn.Module<Tensor, Tensor> lm_head;
#pragma warning restore IDE1006

    /// <summary>A model of <paramref name="config"/> with TorchSharp's default initialisation (then usually loaded).</summary>
    /// <param name="config">The hyper-parameters (the engine's HF config class).</param>
    /// <param name="linear">Builds the decoder's projections (default: <c>nn.Linear</c>); lm_head is always a Linear.</param>
    public TorchLlamaForCausalLM(LlamaConfig config, TorchLlamaLinear? linear = null) : base(nameof(TorchLlamaForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        model = new TorchLlamaModel(config, linear);
        var head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        if (config.TieWordEmbeddings)
            head.weight = ((Embedding)model.EmbedTokens).weight!;
        lm_head = head;
        RegisterComponents();
    }

    /// <summary>The configuration the model was built from.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The decoder stack (the "model" child).</summary>
    public TorchLlamaModel Model => model;

    // ids: (B, T) int64 → logits (B, T, V)
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        return lm_head.forward(model.forward(ids)).MoveToOuterDisposeScope();
    }

    // ids, labels: (B, T) int64 → scalar
    /// <summary>
    /// Mean next-token cross-entropy as Hugging Face computes it: the logits at position t are scored against
    /// <c>labels[t + 1]</c>, and labels equal to −100 (prompt or padding) are left out.
    /// </summary>
    public Tensor Loss(Tensor ids, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var logits = forward(ids);
        long t = ids.shape[1];
        var shifted = logits.narrow(1, 0, t - 1).reshape(-1, Config.VocabSize);
        var targets = labels.narrow(1, 1, t - 1).reshape(-1);
        return nn.functional.cross_entropy(shifted, targets, ignore_index: IgnoreIndex).MoveToOuterDisposeScope();
    }

    /// <summary>The label value that <see cref="Loss"/> leaves out (−100, as PyTorch and Hugging Face).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// Greedy decoding without a cache (the whole sequence is recomputed at every step): up to
    /// <paramref name="maxNewTokens"/> ids after <paramref name="prompt"/>, including the stop id that ended it.
    /// Runs in evaluation mode without gradients and restores the training mode afterwards.
    /// </summary>
    public int[] GenerateGreedy(IReadOnlyList<int> prompt, int maxNewTokens, IReadOnlyCollection<int> stopTokens)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Count == 0) throw new ArgumentException("The prompt needs at least one id.", nameof(prompt));
        bool wasTraining = training;
        eval();
        try
        {
            using var noGrad = no_grad();
            var ids = prompt.Select(i => (long)i).ToList();
            var generated = new List<int>();
            var device = model.EmbedTokens.parameters().First().device;
            for (int step = 0; step < maxNewTokens; step++)
            {
                using var scope = NewDisposeScope();
                var input = tensor(ids.ToArray(), [1, ids.Count], device: device);
                var logits = forward(input);
                int next = (int)logits[0, -1].argmax().item<long>();
                generated.Add(next);
                ids.Add(next);
                if (stopTokens.Contains(next)) break;
            }
            return generated.ToArray();
        }
        finally
        {
            train(wasTraining);
        }
    }
}
