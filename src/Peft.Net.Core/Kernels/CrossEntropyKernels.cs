using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Fused log-softmax + negative log-likelihood over rows of logits, numerically stable (the row maximum is
/// subtracted before exponentiating). The forward pass keeps only one float per row, log Σ exp(logits); the
/// backward pass recomputes softmax from the logits instead of storing a [N, V] probability tensor.
/// The SIMD kernels run in parallel chunks of rows (the loss is then summed over the rows in order, so it does not
/// depend on the thread count); the <c>…Reference</c> methods are the scalar specification.
/// </summary>
internal static unsafe partial class CrossEntropyKernels
{
    // logSumExp: (N); logits: (N, V); targets: (N)
    /// <summary>
    /// Computes <c>logSumExp[r] = log Σᵥ exp(logits[r, v])</c> for every row whose target is not
    /// <paramref name="ignoreIndex"/> (ignored rows get 0) and returns Σ (logSumExp[r] − logits[r, target[r]])
    /// over those rows. Targets must lie in [0, V) or equal <paramref name="ignoreIndex"/>.
    /// </summary>
    public static double Forward(Span<float> logSumExp, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        int ignoreIndex, int vocab)
    {
        if (FloatVector512.IsHardwareAccelerated) return Forward<FloatVector512>(logSumExp, logits, targets, ignoreIndex, vocab);
        if (FloatVector256.IsHardwareAccelerated) return Forward<FloatVector256>(logSumExp, logits, targets, ignoreIndex, vocab);
        if (FloatVector128.IsHardwareAccelerated) return Forward<FloatVector128>(logSumExp, logits, targets, ignoreIndex, vocab);
        return ForwardReference(logSumExp, logits, targets, ignoreIndex, vocab);
    }

    // dlogits, logits: (N, V); targets, logSumExp: (N)
    /// <summary>
    /// Accumulates <c>dlogits[r] += scale · (softmax(logits[r]) − onehot(target[r]))</c> for every row that is not
    /// ignored; <paramref name="scale"/> is the upstream gradient divided by the number of counted rows.
    /// </summary>
    public static void Backward(Span<float> dlogits, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        ReadOnlySpan<float> logSumExp, int ignoreIndex, int vocab, float scale)
    {
        if (FloatVector512.IsHardwareAccelerated) Backward<FloatVector512>(dlogits, logits, targets, logSumExp, ignoreIndex, vocab, scale);
        else if (FloatVector256.IsHardwareAccelerated) Backward<FloatVector256>(dlogits, logits, targets, logSumExp, ignoreIndex, vocab, scale);
        else if (FloatVector128.IsHardwareAccelerated) Backward<FloatVector128>(dlogits, logits, targets, logSumExp, ignoreIndex, vocab, scale);
        else BackwardReference(dlogits, logits, targets, logSumExp, ignoreIndex, vocab, scale);
    }

    /// <summary><see cref="Forward"/> at one vector width.</summary>
    internal static double Forward<TVector>(Span<float> logSumExp, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        int ignoreIndex, int vocab) where TVector : struct, IFloatVector<TVector>
    {
        CheckLengths(logits.Length, logSumExp.Length, targets.Length, vocab, "forward");
        fixed (float* pLogSumExp = logSumExp, pLogits = logits)
        fixed (int* pTargets = targets)
        {
            var work = RowsWork<TVector>.Cached ??= new();
            work.Set(null, pLogits, pTargets, pLogSumExp, targets.Length, vocab, ignoreIndex, 0f);
            work.RunChunks(targets.Length, ChunkedWork.ChunkOf(vocab));
        }
        double total = 0;
        for (int r = 0; r < targets.Length; r++)
            if (targets[r] != ignoreIndex) total += (double)logSumExp[r] - logits[r * vocab + targets[r]];
        return total;
    }

    // Rows [start, end) of Forward: logSumExp[r] for rows not ignored, 0 for ignored ones.
    private static void ForwardRows<TVector>(Span<float> logSumExp, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        int ignoreIndex, int vocab, int start, int end) where TVector : struct, IFloatVector<TVector>
    {
        int n = TVector.Count;
        for (int r = start; r < end; r++)
        {
            logSumExp[r] = 0;
            if (targets[r] == ignoreIndex) continue;
            var row = logits.Slice(r * vocab, vocab);

            int i = 0;
            float max = float.NegativeInfinity;
            if (vocab >= n)
            {
                var vmax = TVector.Load(row, 0);
                for (i = n; i <= vocab - n; i += n) vmax = TVector.Max(vmax, TVector.Load(row, i));
                max = TVector.MaxAcross(vmax);
            }
            for (; i < vocab; i++) max = MathF.Max(max, row[i]);

            var vshift = TVector.Create(max);
            var acc = TVector.Create(0f);
            for (i = 0; i <= vocab - n; i += n) acc += TVector.Exp(TVector.Load(row, i) - vshift);
            float sum = TVector.Sum(acc);
            for (; i < vocab; i++) sum += MathF.Exp(row[i] - max);

            logSumExp[r] = max + MathF.Log(sum);
        }
    }

    /// <summary><see cref="Backward"/> at one vector width.</summary>
    internal static void Backward<TVector>(Span<float> dlogits, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        ReadOnlySpan<float> logSumExp, int ignoreIndex, int vocab, float scale) where TVector : struct, IFloatVector<TVector>
    {
        CheckLengths(logits.Length, logSumExp.Length, targets.Length, vocab, "backward");
        CheckLengths(dlogits.Length, logSumExp.Length, targets.Length, vocab, "backward");
        fixed (float* pDlogits = dlogits, pLogits = logits, pLogSumExp = logSumExp)
        fixed (int* pTargets = targets)
        {
            var work = RowsWork<TVector>.Cached ??= new();
            work.Set(pDlogits, pLogits, pTargets, pLogSumExp, targets.Length, vocab, ignoreIndex, scale);
            work.RunChunks(targets.Length, ChunkedWork.ChunkOf(2L * vocab));
        }
    }

    // Rows [start, end) of Backward.
    private static void BackwardRows<TVector>(Span<float> dlogits, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        ReadOnlySpan<float> logSumExp, int ignoreIndex, int vocab, float scale, int start, int end) where TVector : struct, IFloatVector<TVector>
    {
        int n = TVector.Count;
        var vscale = TVector.Create(scale);
        for (int r = start; r < end; r++)
        {
            if (targets[r] == ignoreIndex) continue;
            var row = logits.Slice(r * vocab, vocab);
            var grad = dlogits.Slice(r * vocab, vocab);
            float lse = logSumExp[r];
            var vlse = TVector.Create(lse);
            int i = 0;
            for (; i <= vocab - n; i += n)
                TVector.Store(TVector.Load(grad, i) + TVector.Exp(TVector.Load(row, i) - vlse) * vscale, grad, i);
            for (; i < vocab; i++) grad[i] += MathF.Exp(row[i] - lse) * scale;
            grad[targets[r]] -= scale;
        }
    }

    /// <summary>Scalar specification of <see cref="Forward"/>.</summary>
    public static double ForwardReference(Span<float> logSumExp, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        int ignoreIndex, int vocab)
    {
        CheckLengths(logits.Length, logSumExp.Length, targets.Length, vocab, "forward");
        double total = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            logSumExp[r] = 0;
            if (targets[r] == ignoreIndex) continue;
            float max = float.NegativeInfinity;
            for (int i = 0; i < vocab; i++) max = MathF.Max(max, logits[r * vocab + i]);
            float sum = 0;
            for (int i = 0; i < vocab; i++) sum += MathF.Exp(logits[r * vocab + i] - max);
            float lse = max + MathF.Log(sum);
            logSumExp[r] = lse;
            total += (double)lse - logits[r * vocab + targets[r]];
        }
        return total;
    }

    /// <summary>Scalar specification of <see cref="Backward"/>.</summary>
    public static void BackwardReference(Span<float> dlogits, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        ReadOnlySpan<float> logSumExp, int ignoreIndex, int vocab, float scale)
    {
        CheckLengths(logits.Length, logSumExp.Length, targets.Length, vocab, "backward");
        CheckLengths(dlogits.Length, logSumExp.Length, targets.Length, vocab, "backward");
        for (int r = 0; r < targets.Length; r++)
        {
            if (targets[r] == ignoreIndex) continue;
            for (int i = 0; i < vocab; i++)
            {
                float onehot = i == targets[r] ? 1f : 0f;
                dlogits[r * vocab + i] += (MathF.Exp(logits[r * vocab + i] - logSumExp[r]) - onehot) * scale;
            }
        }
    }

    private static void CheckLengths(int logits, int logSumExp, int targets, int vocab, string pass)
    {
        if (logits != (long)targets * vocab || logSumExp != targets)
            throw new ArgumentException(
                $"Cross-entropy {pass}: expected logits of {targets} × {vocab} floats and {targets} log-sum-exp values; got {logits} and {logSumExp}.");
    }
}
