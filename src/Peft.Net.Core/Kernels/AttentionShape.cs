namespace Peft.Net.Core.Kernels;

/// <summary>
/// Sizes of one attention call: q (B, H, Tq, D), k and v (B, Hkv, Tk, D), output (B, H, Tq, D), log-sum-exp
/// (B, H, Tq). Query head h reads kv head h / (H / Hkv), as Hugging Face's <c>repeat_kv</c>. With
/// <see cref="Causal"/>, query row i attends to keys j ≤ i + (Tk − Tq): the mask is aligned at the end, so a
/// block of new queries that follows a cached prefix sees the whole prefix.
/// </summary>
internal readonly record struct AttentionShape(
    int Batch, int Heads, int KvHeads, int QueryLength, int KeyLength, int HeadDim, bool Causal, float Scale)
{
    /// <summary>Query heads per kv head (H / Hkv).</summary>
    public int Group => Heads / KvHeads;

    /// <summary>Tk − Tq: how far the causal diagonal is shifted right.</summary>
    public int CausalOffset => KeyLength - QueryLength;

    /// <summary>Elements of q, the output and dq: B·H·Tq·D.</summary>
    public int QueryCount => Batch * Heads * QueryLength * HeadDim;

    /// <summary>Elements of k, v, dk and dv: B·Hkv·Tk·D.</summary>
    public int KeyCount => Batch * KvHeads * KeyLength * HeadDim;

    /// <summary>Query rows over all heads (the length of the log-sum-exp): B·H·Tq.</summary>
    public int RowCount => Batch * Heads * QueryLength;

    /// <summary>Exclusive end of the keys that query row <paramref name="row"/> attends to.</summary>
    public int KeyEnd(int row) => Causal ? Math.Min(KeyLength, row + CausalOffset + 1) : KeyLength;

    /// <summary>Offset of row 0 of query head <paramref name="bh"/> = b·H + h in q (B, H, Tq, D).</summary>
    public int QueryHeadOffset(int bh) => bh * QueryLength * HeadDim;

    /// <summary>Offset in k (B, Hkv, Tk, D) of the kv head that query head <paramref name="bh"/> = b·H + h reads.</summary>
    public int KeyHeadOffset(int bh) => (bh / Heads * KvHeads + bh % Heads / Group) * KeyLength * HeadDim;

    /// <summary>Throws when the sizes cannot describe an attention call.</summary>
    /// <exception cref="ArgumentException">A size is negative, H is not a multiple of Hkv, a query row would
    /// attend to no key, or the scale is not finite.</exception>
    public void Validate()
    {
        if (Batch < 0 || Heads < 0 || KvHeads < 0 || QueryLength < 0 || KeyLength < 0 || HeadDim < 0)
            throw new ArgumentException($"Attention sizes must not be negative: {this}.");
        if (KvHeads == 0 ? Heads != 0 : Heads % KvHeads != 0)
            throw new ArgumentException($"Attention needs the query heads ({Heads}) to be a multiple of the kv heads ({KvHeads}).");
        if (Causal && QueryLength > KeyLength)
            throw new ArgumentException($"Causal attention with the mask aligned at the end needs Tq ≤ Tk; got Tq = {QueryLength}, Tk = {KeyLength} (the first Tq − Tk queries would see no key).");
        if (KeyLength == 0 && QueryLength > 0)
            throw new ArgumentException($"Attention over zero keys is undefined (Tq = {QueryLength}, Tk = 0).");
        if (!float.IsFinite(Scale))
            throw new ArgumentException($"The attention scale must be finite; got {Scale}.");
    }
}
