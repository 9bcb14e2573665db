namespace Peft.Net.Core.Kernels;

/// <summary>
/// Sizes and memory layout of one attention call. With <see cref="AttentionLayout.BatchHeadsTime"/>: q (B, H, Tq, D),
/// k and v (B, Hkv, Tk, D), output (B, H, Tq, D); with <see cref="AttentionLayout.BatchTimeHeads"/>: q (B, Tq, H, D),
/// k and v (B, Tk, Hkv, D), output (B, Tq, H, D). The log-sum-exp is (B, H, Tq) in both. Query head h reads kv head
/// h / (H / Hkv), as Hugging Face's <c>repeat_kv</c>. With <see cref="Causal"/>, query row i attends to keys
/// j ≤ i + (Tk − Tq): the mask is aligned at the end, so a block of new queries that follows a cached prefix sees
/// the whole prefix.
/// </summary>
/// <remarks>
/// The kernels address a head through <see cref="QueryHeadOffset"/> / <see cref="KvHeadOffset"/> (its row 0) and
/// <see cref="QueryRowStride"/> / <see cref="KeyRowStride"/> (the distance between its consecutive time rows); the
/// D floats of one row are always contiguous.
/// </remarks>
internal readonly record struct AttentionShape(
    int Batch, int Heads, int KvHeads, int QueryLength, int KeyLength, int HeadDim, bool Causal, float Scale,
    AttentionLayout Layout = AttentionLayout.BatchHeadsTime)
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

    /// <summary>Floats between consecutive time rows of one head in q, the output and dq: D, or H·D when time comes first.</summary>
    public int QueryRowStride => Layout == AttentionLayout.BatchTimeHeads ? Heads * HeadDim : HeadDim;

    /// <summary>Floats between consecutive time rows of one kv head in k, v, dk and dv: D, or Hkv·D when time comes first.</summary>
    public int KeyRowStride => Layout == AttentionLayout.BatchTimeHeads ? KvHeads * HeadDim : HeadDim;

    /// <summary>Exclusive end of the keys that query row <paramref name="row"/> attends to.</summary>
    public int KeyEnd(int row) => Causal ? Math.Min(KeyLength, row + CausalOffset + 1) : KeyLength;

    /// <summary>Offset of row 0 of query head <paramref name="bh"/> = b·H + h in q, the output and dq.</summary>
    public int QueryHeadOffset(int bh) => Layout == AttentionLayout.BatchTimeHeads
        ? bh / Heads * QueryLength * Heads * HeadDim + bh % Heads * HeadDim
        : bh * QueryLength * HeadDim;

    /// <summary>The kv head b·Hkv + h / (H / Hkv) that query head <paramref name="bh"/> = b·H + h reads.</summary>
    public int KvHeadOf(int bh) => bh / Heads * KvHeads + bh % Heads / Group;

    /// <summary>Offset of row 0 of kv head <paramref name="kvHead"/> = b·Hkv + g in k, v, dk and dv.</summary>
    public int KvHeadOffset(int kvHead) => Layout == AttentionLayout.BatchTimeHeads
        ? kvHead / KvHeads * KeyLength * KvHeads * HeadDim + kvHead % KvHeads * HeadDim
        : kvHead * KeyLength * HeadDim;

    /// <summary>Offset in k and v of row 0 of the kv head that query head <paramref name="bh"/> = b·H + h reads.</summary>
    public int KeyHeadOffset(int bh) => KvHeadOffset(KvHeadOf(bh));

    /// <summary>Throws when the sizes cannot describe an attention call.</summary>
    /// <exception cref="ArgumentException">A size is negative, H is not a multiple of Hkv, a query row would
    /// attend to no key, the scale is not finite, or the layout is unknown.</exception>
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
        if (Layout is not (AttentionLayout.BatchHeadsTime or AttentionLayout.BatchTimeHeads))
            throw new ArgumentException($"Unknown attention layout {Layout}.");
    }
}
