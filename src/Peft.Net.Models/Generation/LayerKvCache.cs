using Peft.Net.Core;

namespace Peft.Net.Models;

/// <summary>One layer's key and value buffers, each [B, maxLength, Hkv, D] (time before heads, as the projections).</summary>
internal sealed class LayerKvCache(int batch, int kvHeads, int maxLength, int headDim)
{
    private readonly float[] _keys = new float[(long)batch * maxLength * kvHeads * headDim];
    private readonly float[] _values = new float[(long)batch * maxLength * kvHeads * headDim];

    // key, value: (B, T, Hkv, D) written at positions [start, start + T) → (B, start + T, Hkv, D) each
    /// <summary>
    /// Stores the new keys and values at <paramref name="start"/> and returns contiguous copies of all
    /// <c>start + T</c> positions, in the layout the attention kernel reads (<see cref="AttentionLayout.BatchTimeHeads"/>).
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int start, Tensor key, Tensor value)
    {
        int time = key.Dim(1), total = start + time;
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
