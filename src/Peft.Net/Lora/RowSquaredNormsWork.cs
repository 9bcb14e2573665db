using System.Buffers;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Peft.Net.Lora;

/// <summary>
/// ‖W[o, :]‖² for every row o of a base weight, rows split into fixed chunks over the kernel threads: DoRA needs them
/// at every forward pass, and one thread streaming the weight left the other idle. Each row is summed exactly as on
/// one thread (<see cref="TensorPrimitives.SumOfSquares(ReadOnlySpan{float})"/> over the row in float32), so any
/// thread count gives the same bits. One instance per calling thread; a call allocates nothing for a dense weight.
/// </summary>
internal sealed class RowSquaredNormsWork : ChunkedWork
{
    /// <summary>Rows a packed weight is decoded in at a time.</summary>
    private const int TileRows = 16;

    [ThreadStatic] private static RowSquaredNormsWork? t_work;

    private Tensor? _dense;
    private IPackableWeight? _packed;
    private double[]? _output;
    private int _columns;

    // dense: F32 (N, K), or packed: W (N, K) → rowSquares: (N)
    /// <summary>Fills <paramref name="rowSquares"/> with the squared row norms of W (dense, or read through <paramref name="packed"/>).</summary>
    public static void Compute(Tensor? dense, IPackableWeight? packed, int rows, int columns, double[] rowSquares)
    {
        var work = t_work ??= new RowSquaredNormsWork();
        work._dense = dense;
        work._packed = packed;
        work._output = rowSquares;
        work._columns = columns;
        try
        {
            // Packed rows are decoded TileRows at a time: keep chunks whole tiles so the decode calls match one thread's.
            int chunk = ChunkOf(columns);
            if (packed is not null) chunk = Math.Max(TileRows, chunk / TileRows * TileRows);
            work.RunChunks(rows, chunk);
        }
        finally
        {
            work._dense = null;
            work._packed = null;
            work._output = null;
        }
    }

    protected override void Run(int start, int end)
    {
        int k = _columns;
        var output = _output!;
        if (_dense is { } dense)
        {
            var w = dense.AsSpan();
            for (int o = start; o < end; o++) output[o] = TensorPrimitives.SumOfSquares(w.Slice(o * k, k));
            return;
        }
        var tile = ArrayPool<float>.Shared.Rent(TileRows * k);
        try
        {
            for (int o0 = start; o0 < end; o0 += TileRows)
            {
                int rows = Math.Min(TileRows, end - o0);
                _packed!.DecodeTile(o0, rows, 0, k, tile.AsSpan(0, rows * k), k);
                for (int i = 0; i < rows; i++) output[o0 + i] = TensorPrimitives.SumOfSquares(tile.AsSpan(i * k, k));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tile);
        }
    }
}
