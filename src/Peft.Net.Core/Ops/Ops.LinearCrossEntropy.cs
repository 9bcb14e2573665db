using System.Numerics.Tensors;
using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Floats of logits one chunk of <see cref="LinearCrossEntropy"/> holds by default (256 MB): 441 rows at V = 151,936,
    /// 523 at 128,256. Chunks of a few hundred rows keep the head's two GEMMs as fast per FLOP as one GEMM over all rows
    /// (each chunk re-reads the [V, C] weight; with ~100-row chunks that re-reading made the step slower).
    /// </summary>
    public const int LinearCrossEntropyChunkFloats = 1 << 26;

    // hidden: (..., C) with N rows; weight: (V, C); targets: (N) → scalar
    /// <summary>
    /// <c>CrossEntropy(Linear(hidden, weight), targets, ignoreIndex)</c> — the mean cross-entropy of the logits
    /// <c>hidden·Wᵀ</c> [N, V] — computed a chunk of rows at a time so that the full logits never exist: each chunk's
    /// logits are formed, reduced to one log-sum-exp per row and, when a gradient is needed, turned in place into their
    /// gradient and multiplied back into dHidden [N, C] (and dW [V, C] when the weight is trainable) at once, as Liger
    /// Kernel's fused linear cross-entropy does. Memory: one chunk of <paramref name="chunkRows"/> × V floats instead of
    /// the N × V logits and their N × V gradient.
    /// </summary>
    /// <remarks>
    /// <para>When every chunk holds more than <see cref="Kernels.Gemm.MatrixVectorRows"/> rows, the loss equals the
    /// unfused path bit for bit (the same kernels, the rows summed in the same order), and so does dHidden when the
    /// upstream gradient is 1 (a loss used as it is); smaller chunks run on the matrix-vector kernel, which sums in
    /// another order. dW and scaled upstream gradients agree to float rounding (≤ 1e-6 relative). Every chunk is computed as a one-thread run would, so results do not depend on the
    /// thread count. Rows whose target is <paramref name="ignoreIndex"/> count for nothing; when all are ignored the loss
    /// is 0 with a zero gradient, as <see cref="CrossEntropy"/>.</para>
    /// <para>The backward work runs inside this call when recording is on and an input requires a gradient (the
    /// gradient of a scalar loss is only scaled later); under <see cref="Tensor.NoGrad"/> only the loss is computed.</para>
    /// </remarks>
    /// <param name="hidden">Hidden states [..., C] (N rows).</param>
    /// <param name="weight">The output head's weight [V, C]: F32 (may require a gradient) or frozen F16/BF16.</param>
    /// <param name="targets">N class indices in [0, V), or <paramref name="ignoreIndex"/>.</param>
    /// <param name="ignoreIndex">Targets to leave out (−100 by default).</param>
    /// <param name="chunkRows">Rows per chunk; 0 picks ⌊<see cref="LinearCrossEntropyChunkFloats"/> / V⌋.</param>
    /// <exception cref="ArgumentException">Shapes do not match, or a non-F32 weight requires a gradient.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is outside [0, V) and is not the ignore index, or <paramref name="chunkRows"/> is negative.</exception>
    public static Tensor LinearCrossEntropy(Tensor hidden, Tensor weight, ReadOnlySpan<int> targets, int ignoreIndex = -100, int chunkRows = 0)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentOutOfRangeException.ThrowIfNegative(chunkRows);
        if (weight.Rank != 2 || hidden.Rank < 1 || hidden.Dim(-1) != weight.Dim(1))
            throw new ArgumentException($"LinearCrossEntropy: hidden {hidden.Describe()} must end in the {weight.Dim(-1)} input features of the weight {weight.Describe()} [V, C].");
        if (weight.DType != DType.F32 && weight.RequiresGrad)
            throw new ArgumentException($"{weight.Describe()} requires a gradient but is stored as {weight.DType}; trainable weights must be F32.");
        int vocab = weight.Dim(0), channels = weight.Dim(1);
        int rows = hidden.Rank == 1 ? 1 : hidden.OuterCount(hidden.Rank - 1);
        var (saved, counted) = CheckCrossEntropyTargets(targets, rows, vocab, ignoreIndex, "LinearCrossEntropy", hidden, weight);

        bool needGrad = GradMode.IsEnabled && (hidden.RequiresGrad || weight.RequiresGrad) && counted > 0;
        int chunk = chunkRows > 0 ? chunkRows : Math.Max(1, LinearCrossEntropyChunkFloats / Math.Max(1, vocab));
        chunk = Math.Max(1, Math.Min(chunk, rows));
        var packed = weight.DType == DType.F32 ? null : new TensorWeight(weight);
        var dHidden = needGrad && hidden.RequiresGrad ? Tensor.NewResult(hidden.ShapeArray(), zeroed: false) : null;
        var dWeight = needGrad && weight.RequiresGrad ? new float[(long)vocab * channels] : null;
        float scale = counted == 0 ? 0f : 1f / counted;

        var logSumExp = new float[rows];
        double total = 0;
        var scratch = ActivationArena.RentScratch(chunk * vocab);
        try
        {
            var x = hidden.AsSpan();
            for (int r0 = 0; r0 < rows; r0 += chunk)
            {
                int m = Math.Min(chunk, rows - r0);
                var logits = scratch.Array.AsSpan(0, m * vocab);
                var xs = x.Slice(r0 * channels, m * channels);
                var chunkTargets = saved.AsSpan(r0, m);
                // logits[m, V] = x[m, C] · Wᵀ
                if (packed is null) Gemm.Multiply(xs, false, weight.AsSpan(), true, logits, m, vocab, channels, accumulate: false);
                else Gemm.Multiply(xs, false, packed, true, logits, m, vocab, channels, accumulate: false);
                var lse = logSumExp.AsSpan(r0, m);
                CrossEntropyKernels.Forward(lse, logits, chunkTargets, ignoreIndex, vocab);
                for (int r = 0; r < m; r++)
                    if (chunkTargets[r] != ignoreIndex) total += (double)lse[r] - logits[r * vocab + chunkTargets[r]];
                if (!needGrad) continue;
                CrossEntropyKernels.GradientInPlace(logits, chunkTargets, lse, ignoreIndex, vocab, scale);
                // dX[m, C] = dlogits[m, V] · W[V, C]
                if (dHidden is not null)
                {
                    var dx = dHidden.AsSpan().Slice(r0 * channels, m * channels);
                    if (packed is null) Gemm.Multiply(logits, false, weight.AsSpan(), false, dx, m, channels, vocab, accumulate: false);
                    else Gemm.Multiply(logits, false, packed, false, dx, m, channels, vocab, accumulate: false);
                }
                // dW[V, C] += dlogits[m, V]ᵀ · x[m, C]
                if (dWeight is not null) Gemm.Multiply(logits, true, xs, false, dWeight, vocab, channels, m, accumulate: true);
            }
        }
        finally
        {
            ActivationArena.ReturnScratch(scratch);
        }

        var loss = Tensor.Scalar(counted == 0 ? 0f : (float)(total / counted));
        var inputs = weight.RequiresGrad ? new[] { hidden, weight } : new[] { hidden };
        return GradMode.Record(loss, "linear_cross_entropy", g =>
        {
            float upstream = g.AsSpan()[0];
            if (hidden.RequiresGrad)
            {
                if (dHidden is null) hidden.GradBuffer(); // all ignored: a zero gradient, as the unfused path
                else AccumulateScaled(hidden, dHidden, upstream, handOver: false); // dHidden is lent by the arena until the graph is released
            }
            if (weight.RequiresGrad)
            {
                if (dWeight is null) weight.GradBuffer();
                else AccumulateScaled(weight, new Tensor(dWeight, 0, weight.ShapeArray(), DType.F32), upstream, handOver: true);
            }
        }, inputs);
    }

    /// <summary>target.grad += scale · gradient; with scale 1 the buffer itself may become the gradient.</summary>
    private static void AccumulateScaled(Tensor target, Tensor gradient, float scale, bool handOver)
    {
        if (scale == 1f)
        {
            target.AccumulateGrad(gradient, handOver);
            return;
        }
        var destination = target.GradBufferToWrite(out bool overwrite);
        if (overwrite) TensorPrimitives.Multiply(gradient.AsSpan(), scale, destination);
        else TensorPrimitives.MultiplyAdd(gradient.AsSpan(), scale, destination, destination);
    }
}
