using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

// source: rows × rowLength floats, ld apart (a transposed B: the panel's weight rows, kc long; a B stored (K, N): the
// panel's kc rows, NR wide); row r is asked for at offsets 16·i for i < ⌈rowLength / 16⌉ and at its last float, so
// every line of the row is covered wherever in a line it starts
/// <summary>
/// Asks for the source of the next B panel a few cache lines at a time while the current panel's tiles run, so that
/// packing it reads from the cache instead of waiting on memory (see <see cref="GemmDriver{TKernel}"/>'s just-in-time
/// path). A hint only: it moves no result, and past a matrix's end it cannot fault.
/// </summary>
internal unsafe struct PanelSourcePrefetch
{
    private nint _ld;
    private int _rowLength, _linesPerRow, _total, _next;
    private int _line; // the next line's place in its row (_next = row · _linesPerRow + _line)
    private float* _row; // the next line's row

    /// <summary>Cache lines still to ask for.</summary>
    public readonly int Remaining => _total - _next;

    // B panel columns [column, column + cols) × depth [p0, p0 + kc) of op(B)
    /// <summary>The source of one B panel of a dense B; nothing to ask for when B is a weight (decoded, not copied) or without SSE.</summary>
    public static PanelSourcePrefetch For(in GemmProblem problem, int column, int cols, int p0, int kc)
    {
        if (problem.Weight is not null || !Sse.IsSupported || cols <= 0 || kc <= 0) return default;
        var source = new PanelSourcePrefetch();
        int rows;
        if (problem.TransB) // B: (N, K): the panel's columns are rows of B
        {
            source._row = problem.B + (nint)column * problem.K + p0;
            source._ld = problem.K;
            rows = cols;
            source._rowLength = kc;
        }
        else // B: (K, N): kc rows of cols floats
        {
            source._row = problem.B + (nint)p0 * problem.N + column;
            source._ld = problem.N;
            rows = kc;
            source._rowLength = cols;
        }
        source._linesPerRow = (source._rowLength + 15) / 16 + 1; // a row that starts late in a line reaches one line further
        source._total = rows * source._linesPerRow;
        return source;
    }

    /// <summary>Asks for the next <paramref name="lines"/> cache lines (fewer at the end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Issue(int lines)
    {
        for (int end = Math.Min(_total, _next + lines); _next < end;)
            Sse.Prefetch1(NextLine()); // into L2: L1 holds the panel being multiplied
    }

    /// <summary>An address in the next cache line to ask for (call only while <see cref="Remaining"/> &gt; 0; tests read the walk through it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal float* NextLine()
    {
        float* address = _row + Math.Min(16 * _line, _rowLength - 1);
        _next++;
        if (++_line == _linesPerRow)
        {
            _line = 0;
            _row += _ld;
        }
        return address;
    }
}
