using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

internal static unsafe partial class CrossEntropyKernels
{
    /// <summary>
    /// Rows [start, end) of <see cref="Forward{TVector}"/> (no dlogits) or <see cref="Backward{TVector}"/>, on operands
    /// pinned by the caller.
    /// </summary>
    private sealed class RowsWork<TVector> : ChunkedWork where TVector : struct, IFloatVector<TVector>
    {
        [ThreadStatic] public static RowsWork<TVector>? Cached;

        private float* _dlogits, _logits, _logSumExp;
        private int* _targets;
        private int _rows, _vocab, _ignoreIndex;
        private float _scale;

        /// <summary>Sets the operands; a null <paramref name="dlogits"/> runs the forward pass.</summary>
        public void Set(float* dlogits, float* logits, int* targets, float* logSumExp, int rows, int vocab, int ignoreIndex, float scale)
        {
            _dlogits = dlogits;
            _logits = logits;
            _targets = targets;
            _logSumExp = logSumExp;
            _rows = rows;
            _vocab = vocab;
            _ignoreIndex = ignoreIndex;
            _scale = scale;
        }

        protected override void Run(int start, int end)
        {
            var logits = new ReadOnlySpan<float>(_logits, _rows * _vocab);
            var targets = new ReadOnlySpan<int>(_targets, _rows);
            var logSumExp = new Span<float>(_logSumExp, _rows);
            if (_dlogits == null) ForwardRows<TVector>(logSumExp, logits, targets, _ignoreIndex, _vocab, start, end);
            else BackwardRows<TVector>(new Span<float>(_dlogits, _rows * _vocab), logits, targets, logSumExp, _ignoreIndex, _vocab, _scale, start, end);
        }
    }
}
