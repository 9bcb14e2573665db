using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// The hyper-parameters of a Llama-family decoder, as in a Hugging Face <c>config.json</c> with
/// <c>model_type</c> "llama" (also SmolLM), "qwen2" or "mistral". Read one with <see cref="Load"/>, build one in
/// code for a small random model (<c>new LlamaConfig { HiddenSize = 64, … }</c>) and write it with
/// <see cref="Save"/>.
/// </summary>
public sealed partial record LlamaConfig
{
    /// <summary>The <c>model_type</c>: "llama", "qwen2" or "mistral".</summary>
    public string ModelType { get; init; } = "llama";

    /// <summary>C: width of the residual stream (<c>hidden_size</c>).</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Width of the SwiGLU MLP (<c>intermediate_size</c>).</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Number of decoder layers (<c>num_hidden_layers</c>).</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary>H: number of query heads (<c>num_attention_heads</c>).</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary>Hkv: number of key/value heads (<c>num_key_value_heads</c>); null means <see cref="NumAttentionHeads"/>.</summary>
    public int? NumKeyValueHeads { get; init; }

    /// <summary>D: size of one head (<c>head_dim</c>); null means <see cref="HiddenSize"/> / <see cref="NumAttentionHeads"/>.</summary>
    public int? HeadDim { get; init; }

    /// <summary>V: vocabulary size (<c>vocab_size</c>).</summary>
    public required int VocabSize { get; init; }

    /// <summary>Epsilon of every RMS norm (<c>rms_norm_eps</c>).</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary>Base θ of the rotary embedding (<c>rope_theta</c>).</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary>The "llama3" <c>rope_scaling</c>, or null for plain rotary embeddings.</summary>
    public Llama3RopeScaling? RopeScaling { get; init; }

    /// <summary>Longest sequence the rotary tables cover (<c>max_position_embeddings</c>).</summary>
    public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary>Whether lm_head shares the input embedding matrix (<c>tie_word_embeddings</c>).</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>Whether q_proj, k_proj and v_proj have a bias (Llama's <c>attention_bias</c>; always true for Qwen2).</summary>
    public bool QkvBias { get; init; }

    /// <summary>Whether o_proj has a bias (Llama's <c>attention_bias</c>; false for Qwen2).</summary>
    public bool OutputProjectionBias { get; init; }

    /// <summary>Whether gate_proj, up_proj and down_proj have a bias (<c>mlp_bias</c>).</summary>
    public bool MlpBias { get; init; }

    /// <summary>Id of the beginning-of-sequence token (<c>bos_token_id</c>), if any.</summary>
    public int? BosTokenId { get; init; }

    /// <summary>Ids that end generation (<c>eos_token_id</c>: one id or a list).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>Id of the padding token (<c>pad_token_id</c>), if any.</summary>
    public int? PadTokenId { get; init; }

    /// <summary>The checkpoint's storage dtype (<c>torch_dtype</c> / <c>dtype</c>): F32, F16 or BF16, or null when unknown.</summary>
    public DType? TorchDType { get; init; }

    /// <summary>
    /// Mistral's / Qwen2's attention window (<c>sliding_window</c>, only when in use). Peft.Net attends to the whole
    /// past, which is the same as long as a sequence is not longer than the window; a longer one is refused.
    /// </summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Hkv resolved: <see cref="NumKeyValueHeads"/> or <see cref="NumAttentionHeads"/>.</summary>
    public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;

    /// <summary>D resolved: <see cref="HeadDim"/> or <see cref="HiddenSize"/> / <see cref="NumAttentionHeads"/>.</summary>
    public int ResolvedHeadDim => HeadDim ?? (NumAttentionHeads > 0 ? HiddenSize / NumAttentionHeads : 0);

    /// <summary>The model types this decoder implements.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["llama", "qwen2", "mistral"];

    /// <summary>
    /// Checks that the numbers describe a model this decoder can build: known model type, positive sizes, H a
    /// multiple of Hkv, an even head size, and C divisible by H when <see cref="HeadDim"/> is not given.
    /// </summary>
    /// <exception cref="NotSupportedException">The model type is not one of <see cref="SupportedModelTypes"/>.</exception>
    /// <exception cref="ArgumentException">A size is not positive or the head counts are inconsistent; the message says which.</exception>
    public void Validate()
    {
        if (!SupportedModelTypes.Contains(ModelType))
            throw new NotSupportedException(
                $"model_type '{ModelType}' is not supported; Peft.Net's Llama decoder loads {string.Join(", ", SupportedModelTypes)}.");
        foreach (var (value, name) in new[]
                 {
                     (HiddenSize, "hidden_size"), (IntermediateSize, "intermediate_size"), (NumHiddenLayers, "num_hidden_layers"),
                     (NumAttentionHeads, "num_attention_heads"), (KeyValueHeads, "num_key_value_heads"), (VocabSize, "vocab_size"),
                     (MaxPositionEmbeddings, "max_position_embeddings"),
                 })
            if (value <= 0)
                throw new ArgumentException($"{name} must be positive; got {value}.");
        if (NumAttentionHeads % KeyValueHeads != 0)
            throw new ArgumentException(
                $"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({KeyValueHeads}).");
        if (HeadDim is null && HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException(
                $"hidden_size ({HiddenSize}) must be divisible by num_attention_heads ({NumAttentionHeads}) when head_dim is not given.");
        if (ResolvedHeadDim <= 0 || ResolvedHeadDim % 2 != 0)
            throw new ArgumentException($"head_dim must be a positive even number for rotary embeddings; got {ResolvedHeadDim}.");
        if (!(RmsNormEps > 0))
            throw new ArgumentException($"rms_norm_eps must be positive; got {RmsNormEps}.");
        if (!(RopeTheta > 0))
            throw new ArgumentException($"rope_theta must be positive; got {RopeTheta}.");
        if (RopeScaling is { } scaling && (!(scaling.Factor > 0) || !(scaling.LowFreqFactor > 0) || !(scaling.HighFreqFactor > scaling.LowFreqFactor)
                                           || scaling.OriginalMaxPositionEmbeddings <= 0 || !double.IsFinite(scaling.Factor) || !double.IsFinite(scaling.HighFreqFactor)))
            throw new ArgumentException(
                $"rope_scaling needs a finite factor > 0, 0 < low_freq_factor < high_freq_factor (finite) and original_max_position_embeddings > 0; got {scaling}.");
        if (TorchDType is { } dtype && !dtype.IsFloatingPoint())
            throw new ArgumentException($"torch_dtype must be a floating dtype (F32, F16 or BF16); got {dtype}.");
        if (ModelType == "qwen2" && (!QkvBias || OutputProjectionBias))
            throw new ArgumentException("A qwen2 model has q/k/v biases and no o_proj bias; set QkvBias = true and OutputProjectionBias = false.");
        if (ModelType != "qwen2" && QkvBias != OutputProjectionBias)
            throw new ArgumentException($"A {ModelType} model has attention_bias on all four projections or on none; QkvBias and OutputProjectionBias must agree.");
    }

    /// <summary>Reads and validates a Hugging Face <c>config.json</c>.</summary>
    /// <param name="path">The config.json file, or the model folder that holds it.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The JSON is malformed, a required field is missing or has the wrong type, or the sizes are inconsistent; the message names the file and the field.</exception>
    /// <exception cref="NotSupportedException">The model type or rope_scaling type is not supported.</exception>
    public static LlamaConfig Load(string path) => LlamaConfigJson.Read(Directory.Exists(path) ? Path.Combine(path, "config.json") : path);

    /// <summary>Writes this config as a Hugging Face <c>config.json</c> (temporary file, then rename).</summary>
    /// <param name="path">The config.json file, or a folder to write config.json into.</param>
    public void Save(string path) => LlamaConfigJson.Write(this, Directory.Exists(path) ? Path.Combine(path, "config.json") : path);
}
