namespace Peft.Net.Models;

/// <summary>
/// What every attention layer of one forward pass shares: the batch, the T new positions after the
/// <see cref="Start"/> cached ones, their rotary positions and which keys are padding.
/// </summary>
/// <param name="Batch">B.</param>
/// <param name="Time">T: the new positions.</param>
/// <param name="Start">The positions already in the KV cache (0 without one).</param>
/// <param name="Positions">Rotary position of each new token [B·T] (left padding), or null for Start, Start + 1, ….</param>
/// <param name="KeyMask">Whether each of the Start + T keys of each sequence is a real token [B·(Start + T)], or null for all.</param>
internal sealed record AttentionContext(int Batch, int Time, int Start, int[]? Positions, bool[]? KeyMask)
{
    private readonly Dictionary<(int, int, int, int, int?), Peft.Net.Core.Tensor> _masks = [];

    /// <summary>Tk: the keys each new query may look at (cached and new).</summary>
    public int KeyLength => Start + Time;

    /// <summary>
    /// The additive mask of <see cref="EagerAttention"/> for this pass, built once and shared by every layer with the
    /// same window (it holds no autograd history).
    /// </summary>
    public Peft.Net.Core.Tensor Mask(int kvHeads, int group, int queries, int keys, int? window)
    {
        var key = (kvHeads, group, queries, keys, window);
        if (!_masks.TryGetValue(key, out var mask))
            _masks[key] = mask = EagerAttention.Mask(Batch, kvHeads, group, queries, keys, window, KeyMask);
        return mask;
    }
}
