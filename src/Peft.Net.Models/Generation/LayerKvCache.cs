using Peft.Net.Core;
using Peft.Net.Core.Autograd;

namespace Peft.Net.Models;

/// <summary>One layer's key and value buffers, each [B, maxLength, Hkv, D] (time before heads, as the projections).</summary>
internal sealed class LayerKvCache(int batch, int kvHeads, int maxLength, int headDim, TensorBufferPool? pool = null)
{
    // Rented buffers may be longer than asked (a pool size class) and hold old values past what is stored: only
    // positions [0, start + T) of each sequence are ever read.
    private readonly float[] _keys = Buffer(checked(batch * maxLength * kvHeads * headDim), pool);
    private readonly float[] _values = Buffer(checked(batch * maxLength * kvHeads * headDim), pool);

    private readonly TensorBufferPool? _pool = pool;

    private static float[] Buffer(int length, TensorBufferPool? pool) =>
        pool is null ? new float[length] : pool.Rent(length, zeroed: false);

    /// <summary>Gives both buffers back to the pool they were rented from (nothing to do without one).</summary>
    public void ReturnBuffers()
    {
        if (_pool is null) return;
        _pool.Return(_keys);
        _pool.Return(_values);
    }

    // key, value: (B, T, Hkv, D) written at positions [start, start + T) → (B, start + T, Hkv, D) each
    /// <summary>
    /// Stores the new keys and values at <paramref name="start"/> and returns all <c>start + T</c> positions, in the
    /// layout the attention kernel reads (<see cref="AttentionLayout.BatchTimeHeads"/>): for one sequence, views of the
    /// buffers' first positions (no copy: a decode step then costs no time or memory in the cache's length); for a
    /// batch, contiguous copies. A view stays valid until the cache is reset: later appends write past its end.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int start, Tensor key, Tensor value)
    {
        int time = key.Dim(1);
        return (Stored(_keys, key.AsSpan(), start, time), Stored(_values, value.AsSpan(), start, time));
    }

    // Per sequence the positions are rows of Hkv·D floats: the new rows go after the cached ones. One sequence's
    // first positions are a view of the buffer; a batch's are copied out, sequence by sequence.
    private Tensor Stored(float[] buffer, ReadOnlySpan<float> fresh, int start, int time)
    {
        int total = start + time, rowSize = kvHeads * headDim;
        for (int b = 0; b < batch; b++)
            fresh.Slice(b * time * rowSize, time * rowSize).CopyTo(buffer.AsSpan((b * maxLength + start) * rowSize));
        if (batch == 1) return new Tensor(buffer, 0, [1, total, kvHeads, headDim], DType.F32);
        var all = Tensor.NewResult([batch, total, kvHeads, headDim], zeroed: false); // every element copied below; lent in a generation step
        for (int b = 0; b < batch; b++)
            buffer.AsSpan(b * maxLength * rowSize, total * rowSize).CopyTo(all.AsSpan().Slice(b * total * rowSize));
        return all;
    }
}
