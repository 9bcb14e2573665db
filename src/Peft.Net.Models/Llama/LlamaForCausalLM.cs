using Peft.Net.Core.Autograd;
using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Quantization;

namespace Peft.Net.Models;

/// <summary>
/// A Llama-family causal language model (Llama 2/3, SmolLM, Qwen2, Mistral, Qwen3, Gemma 2, Gemma 3 text, Phi-3)
/// with Hugging Face's module names:
/// <c>model.embed_tokens</c>, <c>model.layers.{i}.{input_layernorm, self_attn.{q,k,v,o}_proj,
/// post_attention_layernorm, mlp.{gate,up,down}_proj}</c> (plus <c>self_attn.{q,k}_norm</c> for Qwen3/Gemma 3,
/// <c>{pre,post}_feedforward_layernorm</c> for Gemma, and the fused <c>self_attn.qkv_proj</c> / <c>mlp.gate_up_proj</c>
/// in place of q/k/v and gate/up for Phi-3), <c>model.norm</c> and <c>lm_head</c> (sharing
/// <c>model.embed_tokens.weight</c> when the config ties them). Every child is looked up when it is used, so model
/// surgery (<see cref="Module.ReplaceSubmodule"/>, <see cref="Module.ReplaceParameter"/>) takes effect at once.
/// </summary>
public sealed partial class LlamaForCausalLM : Module, Peft.Net.Lora.IPeftTaskModel
{
    /// <summary>"CAUSAL_LM": the <c>task_type</c> of adapters added to this model.</summary>
    public string PeftTaskType => "CAUSAL_LM";

    /// <summary>Creates a model with random weights (embeddings N(0, 1), linear layers as PyTorch's nn.Linear).</summary>
    /// <param name="config">The hyper-parameters; validated first.</param>
    /// <param name="random">Generator for the initial weights (seed 0 when null).</param>
    /// <exception cref="ArgumentException">The config is inconsistent.</exception>
    /// <exception cref="NotSupportedException">The model type is not supported.</exception>
    public LlamaForCausalLM(LlamaConfig config, TensorRandom? random = null)
        : this(config, new RandomLlamaParameters(random ?? new TensorRandom(0)))
    {
    }

    /// <summary>
    /// Creates a model with random weights (as <see cref="LlamaForCausalLM(LlamaConfig, TensorRandom?)"/>) whose linear
    /// layers but the head are stored in 4-bit with <paramref name="quantization"/>'s settings: each layer is quantized as
    /// soon as it is made, so the float32 model never exists as a whole (what a QLoRA benchmark of a large shape needs).
    /// The result equals building the float32 model with the same generator and calling
    /// <see cref="Nf4ModelExtensions.QuantizeNf4(Module, FourBitQuantization)"/>.
    /// The layers are drawn through one reused float32 buffer, so building never holds more than one float32 layer.
    /// </summary>
    /// <param name="config">The model shape.</param>
    /// <param name="quantization">The 4-bit settings (type, block size, double quantization, skipped modules).</param>
    /// <param name="random">The generator (seed 0 when null).</param>
    /// <param name="unquantizedDType">The dtype of the weights that stay unquantized: embeddings, head and skipped
    /// linear layers (norms stay F32). BF16 gives what loading a BF16 checkpoint gives and equals converting the
    /// float32 values with <see cref="Tensor.To(DType)"/>; these tensors are then frozen.</param>
    /// <exception cref="ArgumentException">The config or the quantization settings are not valid, or
    /// <paramref name="unquantizedDType"/> is not F32, F16 or BF16.</exception>
    /// <exception cref="NotSupportedException">The model type is not supported.</exception>
    public LlamaForCausalLM(LlamaConfig config, FourBitQuantization quantization, TensorRandom? random = null,
        DType unquantizedDType = DType.F32)
        : this(config, new RandomLlamaParameters(random ?? new TensorRandom(0), config?.VocabSize ?? 0, Validated(quantization),
            ValidatedFloat(unquantizedDType)))
    {
    }

    private static FourBitQuantization Validated(FourBitQuantization quantization)
    {
        ArgumentNullException.ThrowIfNull(quantization);
        quantization.Validate();
        return quantization;
    }

    private static DType ValidatedFloat(DType dtype) => dtype is DType.F32 or DType.F16 or DType.BF16
        ? dtype
        : throw new ArgumentException($"The unquantized weights must be F32, F16 or BF16; got {dtype}.", "unquantizedDType");

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
    /// sit at positions <c>cache.Length</c>… (0… without a cache); see <see cref="LlamaModel.Forward(ReadOnlySpan{int}, int, int, KvCache?)"/>. Right padding
    /// needs no mask (causal attention never looks ahead); mark padded labels −100 in <see cref="Loss"/>.
    /// </summary>
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, int time, KvCache? cache = null) =>
        Head(Model.Forward(ids, batch, time, cache));

    // ids: (B, T), attentionMask: (B, cache.Length + T) → (B, T, V)
    /// <summary>
    /// Logits [B, T, V] of a left-padded batch: <paramref name="attentionMask"/> is transformers' <c>attention_mask</c>
    /// (1 = token, 0 = padding) over the cached and the new positions; see
    /// <see cref="LlamaModel.Forward(ReadOnlySpan{int}, int, int, ReadOnlySpan{int}, KvCache?)"/>.
    /// </summary>
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, int time, ReadOnlySpan<int> attentionMask, KvCache? cache = null) =>
        Head(Model.Forward(ids, batch, time, attentionMask, cache));

    // hidden: (..., C) → (..., V), soft-capped when the config says so (Gemma)
    private Tensor Head(Tensor hidden)
    {
        var logits = Child<Module>("lm_head").Forward(hidden);
        return Config.FinalLogitSoftcapping is { } cap
            ? Ops.MulScalar(Ops.Tanh(Ops.DivScalar(logits, (float)cap)), (float)cap)
            : logits;
    }

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
    public Tensor LogitsForLastPosition(ReadOnlySpan<int> ids, int batch, int time, KvCache? cache = null) =>
        LogitsForLastPosition(ids, batch, time, default, cache);

    // ids: (B, T), attentionMask: (B, cache.Length + T) → (B, V)
    /// <summary>
    /// <see cref="LogitsForLastPosition(ReadOnlySpan{int}, int, int, KvCache?)"/> of a left-padded batch (see
    /// <see cref="Forward(ReadOnlySpan{int}, int, int, ReadOnlySpan{int}, KvCache?)"/>); an empty mask means no padding.
    /// </summary>
    /// <remarks>
    /// Without gradient recording (<see cref="Tensor.NoGrad"/>, as in generation) the pass's intermediate results use
    /// the buffers the model keeps for its activations (see <see cref="ReleaseActivationBuffers"/>) and the logits come
    /// back as a copy of their own, so steps after the first touch no fresh memory.
    /// </remarks>
    public Tensor LogitsForLastPosition(ReadOnlySpan<int> ids, int batch, int time, ReadOnlySpan<int> attentionMask, KvCache? cache = null)
    {
        if (GradMode.IsEnabled) return LastPositionLogits(ids, batch, time, attentionMask, cache);
        using var scope = _activations.LendForInference();
        return LastPositionLogits(ids, batch, time, attentionMask, cache).Clone(); // a plain array: the lent ones go back
    }

    private Tensor LastPositionLogits(ReadOnlySpan<int> ids, int batch, int time, ReadOnlySpan<int> attentionMask, KvCache? cache)
    {
        var hidden = Model.Forward(ids, batch, time, attentionMask, cache);
        var lastRows = new int[batch];
        for (int b = 0; b < batch; b++) lastRows[b] = b * time + time - 1;
        var last = hidden.Reshape(batch * time, Config.HiddenSize).IndexRows(lastRows, batch);
        return Head(last);
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
        var head = FusedLoss ? FusableHeadWeight() : null;
        var loss = head is null
            ? Ops.CrossEntropy(Forward(ids, batch, time), targets, IgnoreIndex)
            : Ops.LinearCrossEntropy(Model.Forward(ids, batch, time), head, targets, IgnoreIndex);
        recording.Attach(loss); // only the scalar loss leaves: its graph owns the buffers until its backward pass
        return loss;
    }

    /// <summary>
    /// Whether <see cref="Loss"/> fuses the output head with the cross-entropy (<see cref="Ops.LinearCrossEntropy"/>:
    /// the [B·T, V] logits and their gradient are never held whole, only one chunk of rows at a time). Default true.
    /// Used when <c>lm_head</c> is a plain bias-free linear layer (F32, F16 or BF16, trainable or frozen, also inside
    /// modules_to_save); any other head (e.g. a LoRA-adapted one) takes the unfused path. Losses and gradients are the
    /// same either way (see <see cref="Ops.LinearCrossEntropy"/>); callers who want the logits call
    /// <see cref="Forward(ReadOnlySpan{int}, int, int, KvCache?)"/>.
    /// </summary>
    public bool FusedLoss { get; set; } = true;

    /// <summary>The head's weight [V, C] when the loss can fuse it, else null.</summary>
    private Tensor? FusableHeadWeight()
    {
        var head = Child<Module>("lm_head");
        if (head is Peft.Net.Lora.ModulesToSaveWrapper wrapper) head = wrapper.Current;
        return head is Linear { Bias: null } linear ? linear.Weight : null;
    }

    /// <summary>
    /// Drops the activation and gradient buffers kept for reuse between training steps (see <see cref="Loss"/>) and
    /// generation steps (see <see cref="LogitsForLastPosition(ReadOnlySpan{int}, int, int, ReadOnlySpan{int}, KvCache?)"/>);
    /// the next step allocates them again. Losses whose backward pass has not run yet keep theirs until it runs.
    /// </summary>
    public void ReleaseActivationBuffers() => _activations.Pool.Clear();

    /// <summary>Bytes of activation and gradient buffers held for reuse by the next training step.</summary>
    /// <remarks>
    /// Bounded: never more than <see cref="ActivationBufferLimitBytes"/> after a step, whatever the batch shapes. Buffers
    /// are reused by size class (a request takes an array at most 25 % longer), so batches of different lengths share
    /// them; when a step returns more than the limit, the least recently used sizes are dropped.
    /// </remarks>
    public long ActivationBufferBytes => _activations.Pool.FreeBytes;

    /// <summary>
    /// The bound on <see cref="ActivationBufferBytes"/>: <see cref="ActivationBufferLimitOverride"/> when set, otherwise
    /// 2 × <see cref="ActivationWorkingSetBytes"/> (no bound before the first backward pass or generation step has ended).
    /// </summary>
    public long ActivationBufferLimitBytes => _activations.Pool.LimitBytes;

    /// <summary>The largest activation and gradient working set of one forward + backward pass so far, in bytes (size-class rounded).</summary>
    public long ActivationWorkingSetBytes => _activations.Pool.HighWaterBytes;

    /// <summary>A fixed bound in bytes on the buffers kept between steps (null: 2 × the largest working set, the default).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public long? ActivationBufferLimitOverride
    {
        get => _activations.Pool.ExplicitLimitBytes;
        set => _activations.Pool.ExplicitLimitBytes = value;
    }

    private readonly ActivationArena _activations = new();

    /// <summary>The pool of <see cref="_activations"/>: generation rents its KV cache from it for one call.</summary>
    internal TensorBufferPool ActivationPool => _activations.Pool;

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
    /// Generates for several prompts at once, left-padded to the longest as transformers does (an attention mask hides
    /// the padding and position ids count only real tokens), so each row gets the tokens it would get alone. Each
    /// sampled row draws from its own generator seeded <c>Seed + row</c>. A row stops at its first stop token (which it
    /// includes); the batch runs until every row has stopped or reached <see cref="GenerationOptions.MaxNewTokens"/>.
    /// </summary>
    /// <param name="prompts">The prompts (each at least one id).</param>
    /// <param name="options">Decoding settings, as <see cref="Generate"/>.</param>
    /// <returns>The new ids of each prompt, in order.</returns>
    /// <exception cref="ArgumentException">No prompts, or an empty one.</exception>
    public int[][] GenerateBatch(IReadOnlyList<int[]> prompts, GenerationOptions? options = null) =>
        BatchGenerator.Generate(this, prompts, options ?? new GenerationOptions());

    /// <summary>
    /// Loads a Hugging Face checkpoint folder: config.json plus model.safetensors, or shards listed in
    /// model.safetensors.index.json. Linear and embedding weights keep their checkpoint dtype (F16/BF16 weights are
    /// frozen and read through the GEMM's packing hook) unless <paramref name="dtype"/> asks for another; norm weights
    /// and biases are F32. The model is returned in evaluation mode.
    /// </summary>
    /// <param name="directory">The model folder.</param>
    /// <param name="dtype">Storage dtype of the linear and embedding weights (F32 makes them trainable); null keeps the checkpoint's.</param>
    /// <param name="loadIn4Bit">Store the linear layers (all but lm_head) in 4-bit: the same as
    /// <paramref name="quantization"/> = <see cref="FourBitQuantization.QLoRA"/> (NF4, blocksize 64, double quantization).</param>
    /// <param name="quantization">Store the linear layers in 4-bit with these settings (QLoRA's base). Each weight is
    /// quantized straight from the memory-mapped file, a chunk at a time, and its pages released before the next is read,
    /// so the peak memory stays near the 4-bit model plus the layers kept in their dtype (embeddings, norms, head), not
    /// the 16-bit checkpoint. The bytes equal those of loading first and then calling
    /// <see cref="Nf4ModelExtensions.QuantizeNf4(Module, FourBitQuantization)"/>. Weights the checkpoint already holds in
    /// the bitsandbytes 4-bit layout load as they are.</param>
    /// <returns>The model, with <paramref name="directory"/> recorded as its name (an adapter saved from it writes it as <c>base_model_name_or_path</c>).</returns>
    /// <exception cref="FileNotFoundException">The folder, config.json or the weights are missing.</exception>
    /// <exception cref="InvalidDataException">The config or the tensors do not match the architecture; the message lists the missing, unexpected and mis-shaped tensors with their files.</exception>
    /// <exception cref="NotSupportedException">The model type, rope scaling or a tensor's dtype is not supported.</exception>
    /// <exception cref="ArgumentException">The dtype or the quantization settings are not valid.</exception>
    public static LlamaForCausalLM FromPretrained(string directory, DType? dtype = null, bool loadIn4Bit = false,
        FourBitQuantization? quantization = null) =>
        LlamaCheckpoint.Load(directory, dtype, quantization ?? (loadIn4Bit ? FourBitQuantization.QLoRA : null)).SetBaseModelNameOrPath(directory);

    /// <summary>
    /// Writes config.json and model.safetensors (each to a temporary file, then renamed) in Hugging Face's layout, so
    /// transformers loads the folder: the same keys (lm_head.weight left out when tied) and every tensor in one dtype.
    /// </summary>
    /// <param name="directory">The folder to write into (created if needed).</param>
    /// <param name="dtype">The dtype of every tensor; null uses the dtype of model.embed_tokens.weight.</param>
    /// <exception cref="InvalidOperationException">The model holds adapters or other extra tensors (merge them first).</exception>
    public void SavePretrained(string directory, DType? dtype = null) => LlamaCheckpoint.Save(this, directory, dtype);
}
