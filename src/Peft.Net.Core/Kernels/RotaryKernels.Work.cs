using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

internal static unsafe partial class RotaryKernels
{
    /// <summary>
    /// Rows [start, end) of <see cref="Forward{TVector}"/> (output = y, input = x) or <see cref="Backward{TVector}"/>
    /// (output = dx, input = dy), on operands pinned by the caller.
    /// </summary>
    private sealed class RowsWork<TVector> : ChunkedWork where TVector : struct, IFloatVector<TVector>
    {
        [ThreadStatic] public static RowsWork<TVector>? Cached;

        private float* _output, _input, _cos, _sin;
        private int* _positions;
        private int _tableLength, _positionCount;
        private Layout _layout;
        private bool _backward, _overwrite;

        public void Set(float* output, float* input, float* cos, float* sin, int tableLength, int* positions, int positionCount,
            Layout layout, bool backward, bool overwrite = false)
        {
            _output = output;
            _input = input;
            _cos = cos;
            _sin = sin;
            _positions = positions;
            (_tableLength, _positionCount, _layout, _backward, _overwrite) = (tableLength, positionCount, layout, backward, overwrite);
        }

        protected override void Run(int start, int end)
        {
            int count = (int)_layout.Count;
            var output = new Span<float>(_output, count);
            var input = new ReadOnlySpan<float>(_input, count);
            var cos = new ReadOnlySpan<float>(_cos, _tableLength);
            var sin = new ReadOnlySpan<float>(_sin, _tableLength);
            var positions = new ReadOnlySpan<int>(_positions, _positionCount);
            if (_backward) BackwardRows<TVector>(output, input, cos, sin, positions, _layout, start, end, _overwrite);
            else ForwardRows<TVector>(output, input, cos, sin, positions, _layout, start, end);
        }
    }
}
