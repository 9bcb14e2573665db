namespace Peft.Net.Core.Kernels;

internal static partial class RotaryKernels
{
    // rows of (B, O, T, I) in memory order, each with its table row p = positions[b, t] (or positions[t])
    /// <summary>
    /// Walks the rows of a <see cref="Layout"/> in memory order with each row's position:
    /// <c>foreach (var (row, p) in new RowWalk(layout, positions))</c>. Counters, no division per row.
    /// </summary>
    internal ref struct RowWalk
    {
        private readonly ReadOnlySpan<int> _positions;
        private readonly Layout _layout;
        private readonly int _rowCount;
        private int _row, _b, _o, _t, _h, _position;

        /// <summary>A walk over every row of <paramref name="layout"/>; lengths are checked by the caller.</summary>
        public RowWalk(Layout layout, ReadOnlySpan<int> positions)
        {
            _layout = layout;
            _positions = positions;
            _rowCount = layout.Batch * layout.Outer * layout.Time * layout.Inner;
            _row = -1;
        }

        /// <summary>The row index (in rows of D floats) and its position in the cos/sin tables.</summary>
        public readonly (int Row, int Position) Current => (_row, _position);

        /// <summary>Lets <c>foreach</c> walk this value.</summary>
        public readonly RowWalk GetEnumerator() => this;

        /// <summary>Steps to the next row: h fastest, then t, o, b.</summary>
        public bool MoveNext()
        {
            if (++_row >= _rowCount) return false;
            if (_row > 0 && ++_h == _layout.Inner)
            {
                _h = 0;
                if (++_t == _layout.Time)
                {
                    _t = 0;
                    if (++_o == _layout.Outer)
                    {
                        _o = 0;
                        _b++;
                    }
                }
            }
            _position = _positions[_layout.PositionsPerBatch ? _b * _layout.Time + _t : _t];
            return true;
        }
    }
}
