using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

internal static unsafe partial class CrossEntropyKernels
{
    // logits → dlogits in place: (N, V); targets, logSumExp: (N)
    /// <summary>
    /// Overwrites each row of <paramref name="logits"/> with its cross-entropy gradient
    /// <c>scale · (softmax(row) − onehot(target))</c>, and ignored rows with zeros: the values <see cref="Backward"/>
    /// adds into a zero buffer, bit for bit, without a second [N, V] buffer (the fused linear + cross-entropy uses it).
    /// </summary>
    public static void GradientInPlace(Span<float> logits, ReadOnlySpan<int> targets, ReadOnlySpan<float> logSumExp,
        int ignoreIndex, int vocab, float scale)
    {
        if (FloatVector512.IsHardwareAccelerated) GradientInPlace<FloatVector512>(logits, targets, logSumExp, ignoreIndex, vocab, scale);
        else if (FloatVector256.IsHardwareAccelerated) GradientInPlace<FloatVector256>(logits, targets, logSumExp, ignoreIndex, vocab, scale);
        else if (FloatVector128.IsHardwareAccelerated) GradientInPlace<FloatVector128>(logits, targets, logSumExp, ignoreIndex, vocab, scale);
        else GradientInPlaceReference(logits, targets, logSumExp, ignoreIndex, vocab, scale);
    }

    /// <summary><see cref="GradientInPlace"/> at one vector width, rows in parallel chunks.</summary>
    internal static void GradientInPlace<TVector>(Span<float> logits, ReadOnlySpan<int> targets, ReadOnlySpan<float> logSumExp,
        int ignoreIndex, int vocab, float scale) where TVector : struct, IFloatVector<TVector>
    {
        CheckLengths(logits.Length, logSumExp.Length, targets.Length, vocab, "in-place gradient");
        fixed (float* pLogits = logits, pLogSumExp = logSumExp)
        fixed (int* pTargets = targets)
        {
            var work = InPlaceWork<TVector>.Cached ??= new();
            work.Set(pLogits, pTargets, pLogSumExp, targets.Length, vocab, ignoreIndex, scale);
            work.RunChunks(targets.Length, ChunkedWork.ChunkOf(vocab));
        }
    }

    private static void GradientInPlaceRows<TVector>(Span<float> logits, ReadOnlySpan<int> targets, ReadOnlySpan<float> logSumExp,
        int ignoreIndex, int vocab, float scale, int start, int end) where TVector : struct, IFloatVector<TVector>
    {
        int n = TVector.Count;
        var vscale = TVector.Create(scale);
        var zero = TVector.Create(0f);
        for (int r = start; r < end; r++)
        {
            var row = logits.Slice(r * vocab, vocab);
            if (targets[r] == ignoreIndex)
            {
                row.Clear();
                continue;
            }
            float lse = logSumExp[r];
            var vlse = TVector.Create(lse);
            int i = 0;
            // zero + e·s, as Backward computes grad + e·s on a zeroed buffer.
            for (; i <= vocab - n; i += n)
                TVector.Store(zero + TVector.Exp(TVector.Load(row, i) - vlse) * vscale, row, i);
            for (; i < vocab; i++) row[i] = 0f + MathF.Exp(row[i] - lse) * scale;
            row[targets[r]] -= scale;
        }
    }

    /// <summary>Scalar specification of <see cref="GradientInPlace"/>.</summary>
    public static void GradientInPlaceReference(Span<float> logits, ReadOnlySpan<int> targets, ReadOnlySpan<float> logSumExp,
        int ignoreIndex, int vocab, float scale)
    {
        CheckLengths(logits.Length, logSumExp.Length, targets.Length, vocab, "in-place gradient");
        for (int r = 0; r < targets.Length; r++)
        {
            var row = logits.Slice(r * vocab, vocab);
            if (targets[r] == ignoreIndex)
            {
                row.Clear();
                continue;
            }
            for (int i = 0; i < vocab; i++) row[i] = MathF.Exp(row[i] - logSumExp[r]) * scale;
            row[targets[r]] -= scale;
        }
    }

    private sealed class InPlaceWork<TVector> : ChunkedWork where TVector : struct, IFloatVector<TVector>
    {
        [ThreadStatic] public static InPlaceWork<TVector>? Cached;

        private float* _logits, _logSumExp;
        private int* _targets;
        private int _rows, _vocab, _ignoreIndex;
        private float _scale;

        public void Set(float* logits, int* targets, float* logSumExp, int rows, int vocab, int ignoreIndex, float scale)
        {
            _logits = logits;
            _targets = targets;
            _logSumExp = logSumExp;
            (_rows, _vocab, _ignoreIndex, _scale) = (rows, vocab, ignoreIndex, scale);
        }

        protected override void Run(int start, int end) =>
            GradientInPlaceRows<TVector>(new Span<float>(_logits, _rows * _vocab), new ReadOnlySpan<int>(_targets, _rows),
                new ReadOnlySpan<float>(_logSumExp, _rows), _ignoreIndex, _vocab, _scale, start, end);
    }
}
