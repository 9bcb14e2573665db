using Peft.Net.Core;

namespace Peft.Net.Models;

/// <summary>
/// Attention with everything the fused kernel does not do, composed of recorded operations as Hugging Face's
/// <c>eager_attention_forward</c>: scores q·kᵀ·scale, Gemma 2's soft cap cap·tanh(s / cap), an additive mask that
/// hides future keys, keys outside a sliding window and padding keys (the dtype's minimum, as transformers, so a
/// row of padding never becomes NaN), a float32 softmax and the product with v. The scores are materialised
/// (B·H·Tq·Tk floats), so the model uses this path only when it needs one of these features.
/// </summary>
internal static class EagerAttention
{
    // q: (B, Tq, H, D)  k, v: (B, Tk, Hkv, D) → (B, Tq, H·D)
    /// <summary>
    /// Query i (at key position Tk − Tq + i) sees key j when j ≤ Tk − Tq + i, when (with a window W)
    /// (Tk − Tq + i) − j &lt; W, and when the key mask (B·Tk, or null) marks j as a real token.
    /// </summary>
    public static Tensor Forward(Tensor q, Tensor k, Tensor v, float scale, float? softcap, int? window, bool[]? keyMask) =>
        Forward(q, k, v, scale, softcap, Mask(q.Dim(0), k.Dim(2), q.Dim(2) / k.Dim(2), q.Dim(1), k.Dim(1), window, keyMask));

    // q: (B, Tq, H, D)  k, v: (B, Tk, Hkv, D)  mask: (B, Hkv, G·Tq, Tk) from Mask → (B, Tq, H·D)
    /// <summary>The same with a mask already built by <see cref="Mask"/>.</summary>
    public static Tensor Forward(Tensor q, Tensor k, Tensor v, float scale, float? softcap, Tensor mask)
    {
        int b = q.Dim(0), tq = q.Dim(1), h = q.Dim(2), d = q.Dim(3), tk = k.Dim(1), hkv = k.Dim(2), group = h / hkv;
        // The query heads of one kv head are consecutive: [B, H, Tq, D] is [B, Hkv, G·Tq, D], so no repeat_kv copy.
        var queries = HeadsFirst(q).Reshape(b, hkv, group * tq, d);
        var keys = HeadsFirst(k);
        var values = HeadsFirst(v);
        var scores = Ops.MulScalar(Ops.MatMul(queries, keys, transposeB: true), scale); // (B, Hkv, G·Tq, Tk)
        if (softcap is { } cap)
            scores = Ops.MulScalar(Ops.Tanh(Ops.DivScalar(scores, cap)), cap);
        scores = Ops.Add(scores, mask);
        var output = Ops.MatMul(Ops.Softmax(scores), values); // (B, Hkv, G·Tq, D) = (B, H, Tq, D)
        // (B, H, Tq, D) → (B, H, D, Tq) → (B, H·D, Tq) → (B, Tq, H·D)
        return output.Reshape(b, h, tq, d).TransposeLast2().Reshape(b, h * d, tq).TransposeLast2();
    }

    // x: (B, T, Hx, D) → (B, Hx, T, D)
    private static Tensor HeadsFirst(Tensor x)
    {
        int b = x.Dim(0), t = x.Dim(1), heads = x.Dim(2), d = x.Dim(3);
        return x.Reshape(b, t, heads * d).TransposeLast2().Reshape(b, heads, d, t).TransposeLast2();
    }

    // → (B, Hkv, G·Tq, Tk): 0 where visible, float.MinValue where hidden
    internal static Tensor Mask(int b, int hkv, int group, int tq, int tk, int? window, bool[]? keyMask)
    {
        var mask = Tensor.Zeros(b, hkv, group * tq, tk);
        var values = mask.AsSpan();
        var pattern = new float[tq * tk];
        for (int batch = 0; batch < b; batch++)
        {
            for (int i = 0; i < tq; i++)
            {
                int position = tk - tq + i;
                for (int j = 0; j < tk; j++)
                {
                    bool visible = j <= position && (window is not { } w || position - j < w)
                                   && (keyMask is null || keyMask[batch * tk + j]);
                    pattern[i * tk + j] = visible ? 0f : float.MinValue;
                }
            }
            for (int head = 0; head < hkv * group; head++)
                pattern.CopyTo(values.Slice((batch * hkv * group + head) * tq * tk, tq * tk));
        }
        return mask;
    }
}
