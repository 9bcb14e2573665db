using Peft.Net.Core;

namespace Peft.Net.Models;

/// <summary>One layer's key and value buffers, each [B, maxLength, Hkv, D] (time before heads, as the projections).</summary>
internal sealed class LayerKvCache(int batch, int kvHeads, int maxLength, int headDim)
{
    private readonly float[] _keys = new float[(long)batch * maxLength * kvHeads * headDim];
    private readonly float[] _values = new float[(long)batch * maxLength * kvHeads * headDim];

    // key, value: (B, T, Hkv, D) written at positions [start, start + T) → (B, start + T, Hkv, D) each
    /// <summary>
    /// Stores the new keys and values at <paramref name="start"/> and returns all <c>start + T</c> positions, in the
    /// layout the attention kernel reads (<see cref="AttentionLayout.BatchTimeHeads"/>): for one sequence, views of the
    /// buffers' first positions (no copy: a decode step then costs no time or memory in the cache's length); for a
    /// batch, contiguous copies. A view stays valid until the cache is reset: later appends write past its end.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int start, Tensor key, Tensor value)
    {
        int time = key.Dim(1), total = start + time;
        if (batch == 1)
        {
            int rowSize = kvHeads * headDim;
            key.AsSpan().CopyTo(_keys.AsSpan(start * rowSize, time * rowSize));
            value.AsSpan().CopyTo(_values.AsSpan(start * rowSize, time * rowSize));
            return (new Tensor(_keys, 0, [1, total, kvHeads, headDim], DType.F32),
                new Tensor(_values, 0, [1, total, kvHeads, headDim], DType.F32));
        }
        var keys = Tensor.Zeros(batch, total, kvHeads, headDim);
        var values = Tensor.Zeros(batch, total, kvHeads, headDim);
        Store(_keys, key.AsSpan(), keys.AsSpan(), start, time);
        Store(_values, value.AsSpan(), values.AsSpan(), start, time);
        return (keys, values);
    }

    // Per sequence the positions are rows of Hkv·D floats: the new rows go after the cached ones, then all are copied out.
    private void Store(float[] buffer, ReadOnlySpan<float> fresh, Span<float> all, int start, int time)
    {
        int total = start + time, rowSize = kvHeads * headDim;
        for (int b = 0; b < batch; b++)
        {
            var sequence = buffer.AsSpan(b * maxLength * rowSize, maxLength * rowSize);
            fresh.Slice(b * time * rowSize, time * rowSize).CopyTo(sequence.Slice(start * rowSize));
            sequence[..(total * rowSize)].CopyTo(all.Slice(b * total * rowSize, total * rowSize));
        }
    }
}
