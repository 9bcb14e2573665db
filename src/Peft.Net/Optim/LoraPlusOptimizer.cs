using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Optim;

namespace Peft.Net;

/// <summary>
/// LoRA+ (arXiv 2402.12354): AdamW whose B matrices learn <c>ratio</c> times faster than A, with the parameter groups of
/// PEFT's <c>create_loraplus_optimizer</c>. Over the model's trainable parameters: a parameter whose owner (its name
/// without the last two components) is a <see cref="LoraEmbedding"/> goes to <see cref="LoraPlusGroup.Embedding"/>;
/// otherwise a name containing <c>lora_B</c> or a 1-D parameter goes to <see cref="LoraPlusGroup.B"/> when it is in the
/// decay set (not inside a LayerNorm/RmsNorm, name without "bias") and to <see cref="LoraPlusGroup.BNoDecay"/> when not;
/// everything else (lora_A, other ≥ 2-D parameters) goes to <see cref="LoraPlusGroup.A"/>. So the DoRA magnitude gets
/// lr·ratio with decay, biases and norm weights lr·ratio without.
/// </summary>
/// <remarks>
/// The owner rule is the original LoRA+ code's (<c>get_module</c> drops the last two name parts of a LoRA parameter),
/// which is what PEFT intends. PEFT's own <c>create_loraplus_optimizer</c> looks the owner up with
/// <c>attrgetter(name)(model)</c> on the full parameter name, which yields the parameter itself, so in PEFT the
/// embedding group stays empty and <c>lora_embedding_A/B</c> (2-D, no "lora_B" in the name) land in group A at lr.
/// Models without LoRA embeddings are grouped identically by both.
/// </remarks>
public sealed class LoraPlusOptimizer : AdamW
{
    private readonly Dictionary<Tensor, LoraPlusGroup> _assignment;

    /// <summary>Creates the optimizer over <paramref name="model"/>'s trainable parameters.</summary>
    /// <param name="model">The model (e.g. after ApplyLora).</param>
    /// <param name="learningRate">lr: the learning rate of group A.</param>
    /// <param name="loraPlusRatio">ηB/ηA (PEFT's <c>loraplus_lr_ratio</c>); should be ≥ 1.</param>
    /// <param name="weightDecay">PEFT's <c>loraplus_weight_decay</c>, for every group but B_no_decay.</param>
    /// <param name="embeddingLearningRate">The embedding group's learning rate (PEFT's <c>loraplus_lr_embedding</c>, default 1e-6).</param>
    /// <param name="beta1">AdamW β₁.</param>
    /// <param name="beta2">AdamW β₂.</param>
    /// <param name="epsilon">AdamW ε.</param>
    /// <exception cref="ArgumentException">The model has no trainable parameters, or a hyper-parameter is out of range.</exception>
    public LoraPlusOptimizer(Module model, double learningRate, double loraPlusRatio = 16, double weightDecay = 0,
        double? embeddingLearningRate = null, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
        : this(Classify(model), learningRate, loraPlusRatio, weightDecay, embeddingLearningRate ?? DefaultEmbeddingLearningRate, beta1, beta2, epsilon)
    {
    }

    private LoraPlusOptimizer(Dictionary<Tensor, LoraPlusGroup> assignment, double learningRate, double ratio, double weightDecay,
        double embeddingLearningRate, double beta1, double beta2, double epsilon)
        : base(BuildGroups(assignment, learningRate, ratio, weightDecay, embeddingLearningRate, beta1, beta2, epsilon))
    {
        _assignment = assignment;
        LoraPlusRatio = ratio;
    }

    /// <summary>PEFT's default learning rate of the embedding group.</summary>
    public const double DefaultEmbeddingLearningRate = 1e-6;

    /// <summary>The ratio ηB/ηA this optimizer was created with.</summary>
    public double LoraPlusRatio { get; }

    /// <summary>Group A (named "groupA").</summary>
    public AdamWGroup GroupA => Groups[0];

    /// <summary>The embedding group (named "embedding").</summary>
    public AdamWGroup EmbeddingGroup => Groups[1];

    /// <summary>Group B (named "groupB").</summary>
    public AdamWGroup GroupB => Groups[2];

    /// <summary>Group B without weight decay (named "groupB_no_decay").</summary>
    public AdamWGroup GroupBNoDecay => Groups[3];

    /// <summary>The group a parameter was placed in.</summary>
    /// <exception cref="KeyNotFoundException">The tensor is not optimised by this optimizer.</exception>
    public LoraPlusGroup GroupOf(Tensor parameter) =>
        _assignment.TryGetValue(parameter, out var group)
            ? group
            : throw new KeyNotFoundException($"{parameter.Describe()} is not a parameter of this LoRA+ optimizer.");

    /// <summary>
    /// Which group each trainable parameter of <paramref name="model"/> belongs to, by dotted name, in
    /// <see cref="Module.NamedParameters"/> order (PEFT's classification; useful to inspect before training).
    /// </summary>
    public static IReadOnlyList<(string Name, LoraPlusGroup Group)> ClassifyParameters(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var modules = model.NamedModules().ToDictionary(e => e.Name, e => e.Module);
        var decay = DecayParameterNames(model);
        var result = new List<(string, LoraPlusGroup)>();
        foreach (var (name, parameter) in model.NamedParameters())
        {
            if (!parameter.RequiresGrad) continue;
            bool ownerIsLoraEmbedding = modules.TryGetValue(LoraPlusRules.OwnerOf(name), out var module) && module is LoraEmbedding;
            result.Add((name, LoraPlusRules.GroupOf(name, parameter.Rank, ownerIsLoraEmbedding, decay.Contains(name))));
        }
        return result;
    }

    private static Dictionary<Tensor, LoraPlusGroup> Classify(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parameters = model.NamedParameters().ToDictionary(e => e.Name, e => e.Parameter);
        var assignment = new Dictionary<Tensor, LoraPlusGroup>(ReferenceEqualityComparer.Instance);
        foreach (var (name, group) in ClassifyParameters(model)) assignment[parameters[name]] = group;
        if (assignment.Count == 0)
            throw new ArgumentException($"LoRA+: {model.GetType().Name} has no trainable parameters (apply LoRA first, or unfreeze some).", nameof(model));
        return assignment;
    }

    // transformers' get_parameter_names(model, ALL_LAYERNORM_LAYERS) minus names containing "bias"
    private static HashSet<string> DecayParameterNames(Module model)
    {
        var excludedPrefixes = model.NamedModules()
            .Where(e => e.Module is LayerNorm or RmsNorm)
            .Select(e => e.Name.Length == 0 ? "" : e.Name + ".")
            .ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in model.NamedParameters())
            if (LoraPlusRules.Decays(name, excludedPrefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal))))
                names.Add(name);
        return names;
    }

    private static AdamWGroup[] BuildGroups(Dictionary<Tensor, LoraPlusGroup> assignment, double learningRate, double ratio,
        double weightDecay, double embeddingLearningRate, double beta1, double beta2, double epsilon)
    {
        // Dictionary enumeration keeps insertion (NamedParameters) order, as no entry is ever removed.
        IEnumerable<Tensor> Of(LoraPlusGroup group) => assignment.Where(e => e.Value == group).Select(e => e.Key);
        return
        [
            new AdamWGroup(Of(LoraPlusGroup.A), learningRate, weightDecay, beta1, beta2, epsilon, "groupA"),
            new AdamWGroup(Of(LoraPlusGroup.Embedding), embeddingLearningRate, weightDecay, beta1, beta2, epsilon, "embedding"),
            new AdamWGroup(Of(LoraPlusGroup.B), learningRate * ratio, weightDecay, beta1, beta2, epsilon, "groupB"),
            new AdamWGroup(Of(LoraPlusGroup.BNoDecay), learningRate * ratio, 0, beta1, beta2, epsilon, "groupB_no_decay"),
        ];
    }
}
