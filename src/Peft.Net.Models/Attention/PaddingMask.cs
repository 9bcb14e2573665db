namespace Peft.Net.Models;

/// <summary>transformers' <c>attention_mask</c> (1 = token, 0 = padding) turned into key masks and rotary positions.</summary>
internal static class PaddingMask
{
    // mask: (B, start + T) of 0/1 → context with positions (B·T) and key mask (B·(start + T)); empty mask → no padding
    public static AttentionContext Context(ReadOnlySpan<int> mask, int batch, int time, int start)
    {
        if (mask.IsEmpty) return new AttentionContext(batch, time, start, null, null);
        int keys = start + time;
        if (mask.Length != batch * keys)
            throw new ArgumentException(
                $"The attention mask holds {mask.Length} values; batch {batch} × ({start} cached + {time} new) positions need {batch * keys}.", nameof(mask));
        var keyMask = new bool[batch * keys];
        var positions = new int[batch * time];
        bool padded = false;
        for (int b = 0; b < batch; b++)
        {
            int real = 0;
            for (int j = 0; j < keys; j++)
            {
                int value = mask[b * keys + j];
                if (value is not (0 or 1))
                    throw new ArgumentException($"The attention mask must hold 0 or 1; sequence {b}, position {j} holds {value}.", nameof(mask));
                keyMask[b * keys + j] = value == 1;
                padded |= value == 0;
                real += value;
                // position_ids = cumsum(mask) − 1, with padding set to 1 (transformers' prepare_inputs_for_generation).
                if (j >= start) positions[b * time + j - start] = value == 1 ? real - 1 : 1;
            }
        }
        return padded ? new AttentionContext(batch, time, start, positions, keyMask) : new AttentionContext(batch, time, start, null, null);
    }
}
