using Peft.Net.Core;

namespace Peft.Net.Models;

/// <summary>One layer's key and value buffers, each [B, Hkv, maxLength, D].</summary>
internal sealed class LayerKvCache(int batch, int kvHeads, int maxLength, int headDim)
{
    private readonly float[] _keys = new float[(long)batch * kvHeads * maxLength * headDim];
    private readonly float[] _values = new float[(long)batch * kvHeads * maxLength * headDim];

    // key, value: (B, Hkv, T, D) written at positions [start, start + T) → (B, Hkv, start + T, D) each
    /// <summary>
    /// Stores the new keys and values at <paramref name="start"/> and returns contiguous copies of all
    /// <c>start + T</c> positions, the layout the attention kernel reads.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int start, Tensor key, Tensor value)
    {
        int rows = batch * kvHeads, time = key.Dim(2), total = start + time;
        var keys = Tensor.Zeros(batch, kvHeads, total, headDim);
        var values = Tensor.Zeros(batch, kvHeads, total, headDim);
        Store(_keys, key.AsSpan(), keys.AsSpan(), rows, start, time);
        Store(_values, value.AsSpan(), values.AsSpan(), rows, start, time);
        return (keys, values);
    }

    private void Store(float[] buffer, ReadOnlySpan<float> fresh, Span<float> all, int rows, int start, int time)
    {
        int total = start + time;
        for (int r = 0; r < rows; r++)
        {
            var row = buffer.AsSpan(r * maxLength * headDim, maxLength * headDim);
            fresh.Slice(r * time * headDim, time * headDim).CopyTo(row.Slice(start * headDim));
            row[..(total * headDim)].CopyTo(all.Slice(r * total * headDim, total * headDim));
        }
    }
}
