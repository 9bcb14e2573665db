using Peft.Net.Core;
using Peft.Net.Core.Optim;

namespace Peft.Net.Optim;

/// <summary>
/// bitsandbytes' <c>AdamW8bit</c> (and with <c>paged: true</c> its <c>PagedAdamW8bit</c>) on the CPU: both Adam moments
/// are stored as 8-bit codes of bitsandbytes' dynamic maps (signed for m, unsigned for v) with one float32 absmax per
/// block of 256 elements, about 2.03 bytes per parameter instead of 8. Each step dequantizes a block, updates it in
/// float32 and requantizes it, in the CUDA kernel's order (see optim-8bit.md §4): decoupled weight decay applied after
/// the Adam step, and a non-finite gradient resets that element's moments and leaves the parameter alone. Parameters of
/// fewer than <see cref="MinEightBitSize"/> elements keep float32 moments updated exactly as <see cref="AdamW"/>.
/// </summary>
/// <remarks>
/// Accuracy (docs/reliability.md): on a 200-step regression of 16,384 parameters the result stays within a few per cent
/// (relative L2) of float32 AdamW's; the tests pin the bound. Paging changes only where the codes live, never the numbers.
/// </remarks>
public sealed class AdamW8bit : LowMemoryAdamW
{
    /// <summary>bitsandbytes' <c>min_8bit_size</c>: smaller parameters keep float32 moments.</summary>
    public const int DefaultMinEightBitSize = 4096;

    /// <summary>Creates the optimizer with one group; the defaults are bitsandbytes' <c>AdamW8bit</c> defaults.</summary>
    /// <param name="parameters">The F32 leaf tensors to optimise.</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="beta1">β₁.</param>
    /// <param name="beta2">β₂.</param>
    /// <param name="epsilon">ε.</param>
    /// <param name="weightDecay">Decoupled weight decay.</param>
    /// <param name="paged">Keep the codes of parameters of ≥ 100,000 elements in a memory-mapped file the OS may page out.</param>
    /// <param name="pagingDirectory">Folder for that file (the temp folder when null).</param>
    /// <param name="minEightBitSize">Parameters with fewer elements keep float32 moments.</param>
    /// <exception cref="ArgumentException">No parameters, or a hyper-parameter out of range.</exception>
    /// <exception cref="IOException">The paged file cannot be created.</exception>
    public AdamW8bit(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0.01, bool paged = false, string? pagingDirectory = null, int minEightBitSize = DefaultMinEightBitSize)
        : this([new AdamWGroup(parameters, learningRate, weightDecay, beta1, beta2, epsilon)], paged, pagingDirectory, minEightBitSize)
    {
    }

    /// <summary>Creates the optimizer over groups with their own hyper-parameters (e.g. LoRA+ groups).</summary>
    /// <exception cref="ArgumentException">No parameters, or a hyper-parameter out of range.</exception>
    /// <exception cref="IOException">The paged file cannot be created.</exception>
    public AdamW8bit(IEnumerable<AdamWGroup> groups, bool paged = false, string? pagingDirectory = null, int minEightBitSize = DefaultMinEightBitSize)
        : this(groups?.ToArray() ?? throw new ArgumentNullException(nameof(groups)), paged, pagingDirectory, minEightBitSize)
    {
    }

    private AdamW8bit(AdamWGroup[] groups, bool paged, string? pagingDirectory, int minEightBitSize)
        : base(groups, n => n >= Math.Max(1, minEightBitSize), paged, pagingDirectory)
    {
        MinEightBitSize = minEightBitSize;
    }

    /// <summary>Parameters with fewer elements keep float32 moments.</summary>
    public int MinEightBitSize { get; }

    /// <inheritdoc/>
    protected override string OptimizerType => IsPaged ? "PagedAdamW8bit" : "AdamW8bit";
}
