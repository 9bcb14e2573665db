namespace Peft.Net.Core.Kernels;

internal static partial class RotaryKernels
{
    // rows [start, end) of (B, O, T, I) in memory order, each with its table row p = positions[b, t] (or positions[t])
    /// <summary>
    /// Walks rows [start, end) of a <see cref="Layout"/> in memory order with each row's position:
    /// <c>foreach (var (row, p) in new RowWalk(layout, positions, start, end))</c>. Counters, no division per row.
    /// </summary>
    internal ref struct RowWalk
    {
        private readonly ReadOnlySpan<int> _positions;
        private readonly Layout _layout;
        private readonly int _start, _end;
        private int _row, _b, _o, _t, _h, _position;

        /// <summary>A walk over rows [start, end) of <paramref name="layout"/>; lengths are checked by the caller.</summary>
        public RowWalk(Layout layout, ReadOnlySpan<int> positions, int start, int end)
        {
            _layout = layout;
            _positions = positions;
            (_start, _end, _row) = (start, end, start - 1);
            if (start >= end) return;
            _h = start % layout.Inner;
            _t = start / layout.Inner % layout.Time;
            _o = start / (layout.Inner * layout.Time) % layout.Outer;
            _b = start / (layout.Inner * layout.Time * layout.Outer);
        }

        /// <summary>The row index (in rows of D floats) and its position in the cos/sin tables.</summary>
        public readonly (int Row, int Position) Current => (_row, _position);

        /// <summary>Lets <c>foreach</c> walk this value.</summary>
        public readonly RowWalk GetEnumerator() => this;

        /// <summary>Steps to the next row: h fastest, then t, o, b.</summary>
        public bool MoveNext()
        {
            if (++_row >= _end) return false;
            if (_row > _start && ++_h == _layout.Inner)
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
