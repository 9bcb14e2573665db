using Peft.Net.Core.Autograd;
using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// A Llama-family causal language model (Llama 2/3, SmolLM, Qwen2, Mistral) with Hugging Face's module names:
/// <c>model.embed_tokens</c>, <c>model.layers.{i}.{input_layernorm, self_attn.{q,k,v,o}_proj,
/// post_attention_layernorm, mlp.{gate,up,down}_proj}</c>, <c>model.norm</c> and <c>lm_head</c> (sharing
/// <c>model.embed_tokens.weight</c> when the config ties them). Every child is looked up when it is used, so model
/// surgery (<see cref="Module.ReplaceSubmodule"/>, <see cref="Module.ReplaceParameter"/>) takes effect at once.
/// </summary>
public sealed partial class LlamaForCausalLM : Module
{
    /// <summary>Creates a model with random weights (embeddings N(0, 1), linear layers as PyTorch's nn.Linear).</summary>
    /// <param name="config">The hyper-parameters; validated first.</param>
    /// <param name="random">Generator for the initial weights (seed 0 when null).</param>
    /// <exception cref="ArgumentException">The config is inconsistent.</exception>
    /// <exception cref="NotSupportedException">The model type is not supported.</exception>
    public LlamaForCausalLM(LlamaConfig config, TensorRandom? random = null)
        : this(config, new RandomLlamaParameters(random ?? new TensorRandom(0)))
    {
    }

    internal LlamaForCausalLM(LlamaConfig config, LlamaParameterSource source)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        var model = RegisterModule("model", new LlamaModel(config, source, "model"));
        // Tied: lm_head wraps the embedding's very tensor, which is then saved once, as model.embed_tokens.weight.
        RegisterModule("lm_head", config.TieWordEmbeddings
            ? new Linear(model.StateDict()["embed_tokens.weight"], null)
            : (Module)source.Linear("lm_head", config.HiddenSize, config.VocabSize, bias: false));
    }

    /// <summary>The configuration the model was built from.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The decoder stack (the "model" child).</summary>
    public LlamaModel Model => Child<LlamaModel>("model");

    /// <summary>
    /// Gradient checkpointing of the decoder layers (Hugging Face's <c>gradient_checkpointing_enable()</c>); the same
    /// switch as <see cref="LlamaModel.GradientCheckpointing"/>. Default false.
    /// </summary>
    public bool GradientCheckpointing
    {
        get => Model.GradientCheckpointing;
        set => Model.GradientCheckpointing = value;
    }

    /// <summary>Makes lm_head.weight the very tensor of model.embed_tokens.weight (done on construction when the config ties them).</summary>
    public void TieWeights() => ReplaceParameter("lm_head.weight", StateDict()["model.embed_tokens.weight"]);

    // ids: (B, T) → (B, T, V)
    /// <summary>
    /// Logits [B, T, V] for <paramref name="batch"/> sequences of <paramref name="time"/> ids (row-major). The tokens
    /// sit at positions <c>cache.Length</c>… (0… without a cache); see <see cref="LlamaModel.Forward"/>. Right padding
    /// needs no mask (causal attention never looks ahead); mark padded labels −100 in <see cref="Loss"/>.
    /// </summary>
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, int time, KvCache? cache = null) =>
        Child<Module>("lm_head").Forward(Model.Forward(ids, batch, time, cache));

    // ids: I32/I64 (B, T) → (B, T, V)
    /// <summary>Logits [B, T, V] for an I32 or I64 tensor of ids [B, T] (no cache).</summary>
    /// <exception cref="ArgumentException">The ids are not a rank-2 I32/I64 tensor.</exception>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 2 || input.DType is not (DType.I32 or DType.I64))
            throw new ArgumentException($"LlamaForCausalLM: ids must be an I32 or I64 tensor [B, T]; got {input.Describe()}.", nameof(input));
        int[] ids = input.DType == DType.I32 ? input.AsSpan<int>().ToArray() : input.AsSpan<long>().ToArray().Select(v => checked((int)v)).ToArray();
        return Forward(ids, input.Dim(0), input.Dim(1));
    }

    // ids: (B, T) → (B, V)
    /// <summary>
    /// Logits [B, V] of the last position of each sequence only (what generation needs): the head runs on B rows
    /// instead of B·T. Arguments as <see cref="Forward(ReadOnlySpan{int}, int, int, KvCache?)"/>.
    /// </summary>
    public Tensor LogitsForLastPosition(ReadOnlySpan<int> ids, int batch, int time, KvCache? cache = null)
    {
        var hidden = Model.Forward(ids, batch, time, cache);
        var lastRows = new int[batch];
        for (int b = 0; b < batch; b++) lastRows[b] = b * time + time - 1;
        var last = hidden.Reshape(batch * time, Config.HiddenSize).IndexRows(lastRows, batch);
        return Child<Module>("lm_head").Forward(last);
    }

    /// <summary>
    /// Mean next-token cross-entropy as Hugging Face computes it: the logits at position t are scored against
    /// <c>labels[t + 1]</c>, and labels equal to −100 (prompt or padding) are left out. Returns a scalar recorded by
    /// autograd.
    /// </summary>
    /// <remarks>
    /// The activations of the graph come from buffers the model keeps and reuses: once <see cref="Tensor.Backward"/>
    /// has run through the returned loss, its buffers serve the next call, so steps of one shape allocate almost
    /// nothing after the first. One backward pass per loss (a second one throws), as PyTorch without
    /// <c>retain_graph</c>. <see cref="ReleaseActivationBuffers"/> gives the memory back.
    /// </remarks>
    /// <param name="ids">Input ids, batch × time, row-major.</param>
    /// <param name="labels">Labels of the same layout (usually the ids, with −100 where no loss is wanted).</param>
    /// <param name="batch">B.</param>
    /// <param name="time">T.</param>
    /// <exception cref="ArgumentException">ids or labels do not hold batch × time values.</exception>
    public Tensor Loss(ReadOnlySpan<int> ids, ReadOnlySpan<int> labels, int batch, int time)
    {
        if (labels.Length != batch * time)
            throw new ArgumentException($"{labels.Length} labels given for batch {batch} × time {time}.", nameof(labels));
        var targets = new int[batch * time];
        for (int b = 0; b < batch; b++)
        for (int t = 0; t < time; t++)
            targets[b * time + t] = t + 1 < time ? labels[b * time + t + 1] : IgnoreIndex;
        using var recording = _activations.Record(); // disposed without Attach (an exception): the arrays return
        var loss = Ops.CrossEntropy(Forward(ids, batch, time), targets, IgnoreIndex);
        recording.Attach(loss); // only the scalar loss leaves: its graph owns the buffers until its backward pass
        return loss;
    }

    /// <summary>
    /// Drops the activation and gradient buffers kept for reuse between training steps (see <see cref="Loss"/>); the
    /// next step allocates them again. Losses whose backward pass has not run yet keep theirs until it runs.
    /// </summary>
    public void ReleaseActivationBuffers() => _activations.Pool.Clear();

    /// <summary>Bytes of activation and gradient buffers held for reuse by the next training step.</summary>
    public long ActivationBufferBytes => _activations.Pool.FreeBytes;

    private readonly ActivationArena _activations = new();

    /// <summary>The label value that <see cref="Loss"/> leaves out (−100, as PyTorch and Hugging Face).</summary>
    public const int IgnoreIndex = -100;

    /// <summary>
    /// Generates up to <see cref="GenerationOptions.MaxNewTokens"/> tokens after <paramref name="prompt"/> with a KV
    /// cache (greedy or sampled, see <see cref="GenerationOptions"/>) and returns the new ids, including the stop
    /// token when one ended generation. Runs under <see cref="Tensor.NoGrad"/> in evaluation mode.
    /// </summary>
    /// <param name="prompt">The prompt's ids (at least one).</param>
    /// <param name="options">Decoding settings (greedy, 32 tokens, stop at the config's EOS ids when null).</param>
    /// <param name="onToken">Called with each new id as soon as it is chosen (for streaming output).</param>
    public int[] Generate(ReadOnlySpan<int> prompt, GenerationOptions? options = null, Action<int>? onToken = null) =>
        Generator.Generate(this, prompt, options ?? new GenerationOptions(), onToken);

    /// <summary>
    /// Loads a Hugging Face checkpoint folder: config.json plus model.safetensors, or shards listed in
    /// model.safetensors.index.json. Linear and embedding weights keep their checkpoint dtype (F16/BF16 weights are
    /// frozen and read through the GEMM's packing hook) unless <paramref name="dtype"/> asks for another; norm weights
    /// and biases are F32. The model is returned in evaluation mode.
    /// </summary>
    /// <param name="directory">The model folder.</param>
    /// <param name="dtype">Storage dtype of the linear and embedding weights (F32 makes them trainable); null keeps the checkpoint's.</param>
    /// <param name="loadIn4Bit">Quantize the linear layers (all but lm_head) to NF4 after loading (QLoRA).</param>
    /// <exception cref="FileNotFoundException">The folder, config.json or the weights are missing.</exception>
    /// <exception cref="InvalidDataException">The config or the tensors do not match the architecture; the message lists the missing, unexpected and mis-shaped tensors with their files.</exception>
    /// <exception cref="NotSupportedException">The model type, rope scaling or a tensor's dtype is not supported.</exception>
    public static LlamaForCausalLM FromPretrained(string directory, DType? dtype = null, bool loadIn4Bit = false) =>
        LlamaCheckpoint.Load(directory, dtype, loadIn4Bit);

    /// <summary>
    /// Writes config.json and model.safetensors (each to a temporary file, then renamed) in Hugging Face's layout, so
    /// transformers loads the folder: the same keys (lm_head.weight left out when tied) and every tensor in one dtype.
    /// </summary>
    /// <param name="directory">The folder to write into (created if needed).</param>
    /// <param name="dtype">The dtype of every tensor; null uses the dtype of model.embed_tokens.weight.</param>
    /// <exception cref="InvalidOperationException">The model holds adapters or other extra tensors (merge them first).</exception>
    public void SavePretrained(string directory, DType? dtype = null) => LlamaCheckpoint.Save(this, directory, dtype);
}
