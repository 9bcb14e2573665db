using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Optim;

namespace Peft.Net.Cli.Commands.Train;

/// <summary>The optimizers <c>--optim</c> names (bitsandbytes' names), built over the trainable parameters.</summary>
internal sealed class OptimizerChoice : IDisposable
{
    public static readonly string[] Names = ["adamw", "adamw8bit", "paged_adamw8bit", "paged_adamw"];

    private OptimizerChoice(Optimizer optimizer) => Optimizer = optimizer;

    public Optimizer Optimizer { get; }

    /// <summary>The optimizer for <paramref name="name"/>.</summary>
    public static OptimizerChoice Create(string name, IEnumerable<Tensor> parameters, double learningRate, double weightDecay) => new(name switch
    {
        "adamw" => new AdamW(parameters, learningRate, weightDecay: weightDecay),
        "adamw8bit" => new AdamW8bit(parameters, learningRate, weightDecay: weightDecay),
        "paged_adamw8bit" => new AdamW8bit(parameters, learningRate, weightDecay: weightDecay, paged: true),
        "paged_adamw" => new PagedAdamW(parameters, learningRate, weightDecay: weightDecay),
        _ => throw new ArgumentException($"--optim must be one of {string.Join(", ", Names)} (got {name})"),
    });

    /// <summary>State bytes of the optimizer's moments (for AdamW 8 bytes per trainable element once it has stepped).</summary>
    public static long StateBytes(Optimizer optimizer, IEnumerable<Tensor> parameters) =>
        optimizer is LowMemoryAdamW low ? low.StateBytes : 8L * parameters.Sum(p => (long)p.Count);

    public void Dispose() => (Optimizer as IDisposable)?.Dispose();
}
