using Peft.Net.Optim;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// LoRA+ (arXiv 2402.12354) for TorchSharp: TorchSharp's <see cref="AdamW"/> with PEFT's four parameter groups
/// (<c>groupA</c> at lr, <c>embedding</c> at the embedding lr, <c>groupB</c> and <c>groupB_no_decay</c> at lr·ratio),
/// chosen by the same rule as the engine's optimizer (<see cref="LoraPlusRules"/>). Being an AdamW, it works wherever a
/// TorchSharp optimizer does (schedulers, <c>step()</c>, <c>zero_grad()</c>, state dicts).
/// </summary>
public sealed class LoraPlusOptimizer : AdamW
{
    private readonly IReadOnlyList<(string Name, LoraPlusGroup Group)> _assignment;

    /// <summary>Creates the optimizer over <paramref name="model"/>'s trainable parameters.</summary>
    /// <param name="model">The model (after ApplyLora).</param>
    /// <param name="learningRate">lr of group A.</param>
    /// <param name="loraPlusRatio">ηB/ηA (PEFT's <c>loraplus_lr_ratio</c>).</param>
    /// <param name="weightDecay">Weight decay of every group but B_no_decay.</param>
    /// <param name="embeddingLearningRate">The embedding group's lr (PEFT's default 1e-6).</param>
    /// <param name="beta1">AdamW β₁.</param>
    /// <param name="beta2">AdamW β₂.</param>
    /// <param name="epsilon">AdamW ε.</param>
    /// <exception cref="ArgumentException">The model has no trainable parameters.</exception>
    public LoraPlusOptimizer(nn.Module model, double learningRate, double loraPlusRatio = 16, double weightDecay = 0,
        double? embeddingLearningRate = null, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
        : this(model, Classify(model), learningRate, loraPlusRatio, weightDecay, embeddingLearningRate ?? Peft.Net.LoraPlusOptimizer.DefaultEmbeddingLearningRate, beta1, beta2, epsilon)
    {
    }

    private LoraPlusOptimizer(nn.Module model, IReadOnlyList<(string Name, LoraPlusGroup Group)> assignment, double lr, double ratio, double decay,
        double embeddingLr, double beta1, double beta2, double epsilon)
        : base(Groups(model, assignment, lr, ratio, decay, embeddingLr, beta1, beta2, epsilon), lr, beta1, beta2, epsilon, decay)
    {
        _assignment = assignment;
        LoraPlusRatio = ratio;
    }

    /// <summary>The ratio ηB/ηA.</summary>
    public double LoraPlusRatio { get; }

    /// <summary>Each trainable parameter's dotted name and group, in <c>named_parameters()</c> order.</summary>
    public IReadOnlyList<(string Name, LoraPlusGroup Group)> Assignment => _assignment;

    /// <summary>PEFT's classification of <paramref name="model"/>'s trainable parameters, by dotted name.</summary>
    public static IReadOnlyList<(string Name, LoraPlusGroup Group)> Classify(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var modules = ModuleTree.NamedModules(model);
        var byPath = modules.ToDictionary(m => m.Path, m => m.Module);
        var normPrefixes = modules.Where(m => m.Module.GetType().Name.EndsWith("Norm", StringComparison.OrdinalIgnoreCase))
            .Select(m => m.Path.Length == 0 ? "" : m.Path + ".").ToList();
        var result = new List<(string, LoraPlusGroup)>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (!parameter.requires_grad) continue;
            bool ownerIsLoraEmbedding = byPath.TryGetValue(LoraPlusRules.OwnerOf(name), out var owner) && owner is LoraEmbedding;
            bool decays = LoraPlusRules.Decays(name, normPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)));
            result.Add((name, LoraPlusRules.GroupOf(name, (int)parameter.ndim, ownerIsLoraEmbedding, decays)));
        }
        if (result.Count == 0)
            throw new ArgumentException($"LoRA+: {model.GetType().Name} has no trainable parameters (apply LoRA first, or unfreeze some).", nameof(model));
        return result;
    }

    private static IEnumerable<ParamGroup> Groups(nn.Module model, IReadOnlyList<(string Name, LoraPlusGroup Group)> assignment, double lr, double ratio,
        double decay, double embeddingLr, double beta1, double beta2, double epsilon)
    {
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        IEnumerable<Parameter> Of(LoraPlusGroup group) => assignment.Where(a => a.Group == group).Select(a => parameters[a.Name]);
        return
        [
            new ParamGroup(Of(LoraPlusGroup.A), lr, beta1, beta2, epsilon, decay),
            new ParamGroup(Of(LoraPlusGroup.Embedding), embeddingLr, beta1, beta2, epsilon, decay),
            new ParamGroup(Of(LoraPlusGroup.B), lr * ratio, beta1, beta2, epsilon, decay),
            new ParamGroup(Of(LoraPlusGroup.BNoDecay), lr * ratio, beta1, beta2, epsilon, 0),
        ];
    }
}
