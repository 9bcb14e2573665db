using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Mean cross-entropy of <paramref name="logits"/> [N, V] (or [B, T, V], or any [..., V] with N rows) against
    /// class indices <paramref name="targets"/> (N of them, row-major), as
    /// <c>torch.nn.functional.cross_entropy(logits, targets, ignore_index)</c> with mean reduction: rows whose target
    /// equals <paramref name="ignoreIndex"/> are left out of both the sum and the count. Fused, numerically stable
    /// log-softmax + NLL; the backward pass recomputes softmax from the logits. Returns a scalar.
    /// </summary>
    /// <remarks>
    /// When every target is ignored PyTorch returns NaN; this returns 0 and a zero gradient instead, so a batch
    /// made entirely of padding does not poison training.
    /// </remarks>
    /// <exception cref="ArgumentException">The logits have rank &lt; 2 or the number of targets is not N.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is outside [0, V) and is not the ignore index; the message names it.</exception>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> targets, int ignoreIndex = -100)
    {
        if (logits.Rank < 2)
            throw new ArgumentException($"CrossEntropy: the logits {logits.Describe()} need rank ≥ 2 ([N, V] or [B, T, V]).");
        int vocab = logits.Dim(-1);
        int rows = logits.OuterCount(logits.Rank - 1);
        var (saved, counted) = CheckCrossEntropyTargets(targets, rows, vocab, ignoreIndex, "CrossEntropy", logits, logits);

        var logSumExp = new float[rows];
        double total = CrossEntropyKernels.Forward(logSumExp, logits.AsSpan(), saved, ignoreIndex, vocab);
        var loss = Tensor.Scalar(counted == 0 ? 0f : (float)(total / counted));
        return GradMode.Record(loss, "cross_entropy", g =>
        {
            if (!logits.RequiresGrad) return;
            var grad = logits.GradBuffer(); // all-ignored batches still get their (zero) gradient
            if (counted == 0) return;
            float scale = g.AsSpan()[0] / counted;
            CrossEntropyKernels.Backward(grad, logits.AsSpan(), saved, logSumExp, ignoreIndex, vocab, scale);
        }, logits);
    }
}
