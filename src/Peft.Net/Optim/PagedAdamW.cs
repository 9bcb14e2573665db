using Peft.Net.Core;
using Peft.Net.Core.Optim;

namespace Peft.Net.Optim;

/// <summary>
/// bitsandbytes' <c>PagedAdamW</c> on the CPU: <see cref="AdamW"/> with the same float32 arithmetic, bit for bit, whose
/// moments of parameters with at least 100,000 elements live in a memory-mapped temporary file that the operating
/// system may page out under memory pressure (created with a unique name and unlinked at once).
/// </summary>
public sealed class PagedAdamW : LowMemoryAdamW
{
    /// <summary>Creates the optimizer with one group; the defaults are PyTorch's.</summary>
    /// <param name="parameters">The F32 leaf tensors to optimise.</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="beta1">β₁.</param>
    /// <param name="beta2">β₂.</param>
    /// <param name="epsilon">ε.</param>
    /// <param name="weightDecay">Decoupled weight decay.</param>
    /// <param name="pagingDirectory">Folder for the paged file (the temp folder when null).</param>
    /// <exception cref="ArgumentException">No parameters, or a hyper-parameter out of range.</exception>
    /// <exception cref="IOException">The paged file cannot be created.</exception>
    public PagedAdamW(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0.01, string? pagingDirectory = null)
        : this([new AdamWGroup(parameters, learningRate, weightDecay, beta1, beta2, epsilon)], pagingDirectory)
    {
    }

    /// <summary>Creates the optimizer over groups with their own hyper-parameters.</summary>
    /// <exception cref="ArgumentException">No parameters, or a hyper-parameter out of range.</exception>
    /// <exception cref="IOException">The paged file cannot be created.</exception>
    public PagedAdamW(IEnumerable<AdamWGroup> groups, string? pagingDirectory = null)
        : this(groups?.ToArray() ?? throw new ArgumentNullException(nameof(groups)), pagingDirectory)
    {
    }

    private PagedAdamW(AdamWGroup[] groups, string? pagingDirectory) : base(groups, _ => false, paged: true, pagingDirectory)
    {
    }

    /// <inheritdoc/>
    protected override string OptimizerType => "PagedAdamW";
}
