namespace Peft.Net.Core;

/// <summary>How <see cref="Ops.ScaledDotProductAttention"/> reads its query, key and value and writes its output.</summary>
public enum AttentionLayout
{
    /// <summary>
    /// Heads before time: query and output [B, H, Tq, D], key and value [B, Hkv, Tk, D] (PyTorch's
    /// <c>scaled_dot_product_attention</c> layout). Each head's rows are contiguous.
    /// </summary>
    BatchHeadsTime,

    /// <summary>
    /// Time before heads: query and output [B, Tq, H, D], key and value [B, Tk, Hkv, D], the layout a linear
    /// projection produces after a reshape. The kernels read the rows of a head H·D (or Hkv·D) floats apart, so no
    /// transpose is needed on either side, and the output reshapes to [B, Tq, H·D] as a view.
    /// </summary>
    BatchTimeHeads,
}
