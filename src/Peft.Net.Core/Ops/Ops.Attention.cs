using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Scaled dot-product attention with grouped-query heads:
    /// <c>softmax(query·keyᵀ·scale + mask)·value</c>, computed by a fused kernel that never stores the
    /// Tq × Tk score matrix (it keeps the output and one log-sum-exp per query row for the backward pass).
    /// Recorded by autograd: gradients flow to <paramref name="query"/>, <paramref name="key"/> and
    /// <paramref name="value"/>.
    /// </summary>
    /// <param name="query">[B, H, Tq, D] (or [B, Tq, H, D] with <see cref="AttentionLayout.BatchTimeHeads"/>), F32.</param>
    /// <param name="key">[B, Hkv, Tk, D] (or [B, Tk, Hkv, D]), F32. H must be a multiple of Hkv: query head h reads
    /// kv head h / (H / Hkv), as Hugging Face's <c>repeat_kv</c>.</param>
    /// <param name="value">The same shape as <paramref name="key"/>, F32.</param>
    /// <param name="causal">Mask future keys. The mask is aligned at the end: query i attends to keys
    /// j ≤ i + (Tk − Tq), so new queries that follow a KV cache (Tq &lt; Tk) see the whole cached prefix.</param>
    /// <param name="scale">Multiplier of the scores; null means 1/√D.</param>
    /// <param name="layout">Where heads and time sit in the inputs and the output. Both layouts run the same fused
    /// kernels and give the same values; <see cref="AttentionLayout.BatchTimeHeads"/> reads the projections of a
    /// transformer block as they come ([B, T, H·D] reshaped to [B, T, H, D]) with no transpose.</param>
    /// <returns>The shape of <paramref name="query"/>: [B, H, Tq, D], or [B, Tq, H, D] with
    /// <see cref="AttentionLayout.BatchTimeHeads"/>.</returns>
    /// <exception cref="ArgumentException">A tensor is not rank-4 F32, the shapes disagree, H is not a multiple of
    /// Hkv, Tk = 0 with Tq &gt; 0, Tq &gt; Tk with <paramref name="causal"/>, the scale is not finite, or the layout is
    /// unknown.</exception>
    public static Tensor ScaledDotProductAttention(Tensor query, Tensor key, Tensor value, bool causal = true, float? scale = null,
        AttentionLayout layout = AttentionLayout.BatchHeadsTime)
    {
        var shape = AttentionShapeOf(query, key, value, causal, scale, layout);
        var output = Uninitialized(query.ShapeArray()); // the kernel writes every element of both
        var logSumExp = Uninitialized([shape.Batch, shape.Heads, shape.QueryLength]);
        AttentionKernels.Forward(F32Memory(query), F32Memory(key), F32Memory(value), F32Memory(output),
            F32Memory(logSumExp), shape);
        return GradMode.Record(output, "scaled_dot_product_attention", g =>
        {
            // Gradients none of the three has yet (and three distinct tensors): the kernel writes them, zeroing each row
            // on the thread that fills it, instead of adding into buffers zero-filled here first.
            bool overwrite = FreshGradient(query) && FreshGradient(key) && FreshGradient(value)
                && !ReferenceEquals(query, key) && !ReferenceEquals(key, value) && !ReferenceEquals(query, value);
            AttentionKernels.Backward(F32Memory(query), F32Memory(key), F32Memory(value), F32Memory(output),
                F32Memory(logSumExp), F32Memory(g),
                query.RequiresGrad ? GradMemory(query, overwrite) : default,
                key.RequiresGrad ? GradMemory(key, overwrite) : default,
                value.RequiresGrad ? GradMemory(value, overwrite) : default, shape, overwrite: overwrite);
        }, query, key, value);
    }

    /// <summary>Whether <paramref name="tensor"/> takes no gradient, or has none yet.</summary>
    private static bool FreshGradient(Tensor tensor) => !tensor.RequiresGrad || tensor.Grad is null;

    private static AttentionShape AttentionShapeOf(Tensor query, Tensor key, Tensor value, bool causal, float? scale,
        AttentionLayout layout)
    {
        if (layout is not (AttentionLayout.BatchHeadsTime or AttentionLayout.BatchTimeHeads))
            throw new ArgumentException($"ScaledDotProductAttention: unknown layout {layout}.", nameof(layout));
        bool timeFirst = layout == AttentionLayout.BatchTimeHeads;
        string dims = timeFirst ? "[B, T, H, D]" : "[B, H, T, D]";
        foreach (var (tensor, role) in new[] { (query, "query"), (key, "key"), (value, "value") })
        {
            if (tensor.Rank != 4)
                throw new ArgumentException($"ScaledDotProductAttention: the {role} {tensor.Describe()} must be rank 4 ({dims}).");
            if (tensor.DType != DType.F32)
                throw new ArgumentException($"ScaledDotProductAttention: the {role} {tensor.Describe()} must be F32; call To(DType.F32) first.");
        }
        if (!key.SameShape(value))
            throw new ArgumentException($"ScaledDotProductAttention: key {key.Describe()} and value {value.Describe()} must have the same shape.");
        if (query.Dim(0) != key.Dim(0) || query.Dim(3) != key.Dim(3))
            throw new ArgumentException($"ScaledDotProductAttention: query {query.Describe()} and key {key.Describe()} must agree in batch (dim 0) and head size (dim 3).");
        int headAxis = timeFirst ? 2 : 1, timeAxis = timeFirst ? 1 : 2;
        int heads = query.Dim(headAxis), kvHeads = key.Dim(headAxis);
        if (kvHeads == 0 ? heads != 0 : heads % kvHeads != 0)
            throw new ArgumentException($"ScaledDotProductAttention: the query heads of {query.Describe()} must be a multiple of the kv heads of {key.Describe()} (dim {headAxis} of {dims}).");
        int queryLength = query.Dim(timeAxis), keyLength = key.Dim(timeAxis), headDim = query.Dim(3);
        if (causal && queryLength > keyLength)
            throw new ArgumentException($"ScaledDotProductAttention: causal attention needs Tq ≤ Tk (the mask is aligned at the end); query {query.Describe()} is longer than key {key.Describe()}.");
        if (keyLength == 0 && queryLength > 0)
            throw new ArgumentException($"ScaledDotProductAttention: key {key.Describe()} has no positions to attend to.");
        float s = scale ?? (headDim > 0 ? 1f / MathF.Sqrt(headDim) : 1f);
        if (!float.IsFinite(s))
            throw new ArgumentException($"ScaledDotProductAttention: the scale must be finite; got {s}.", nameof(scale));
        return new AttentionShape(query.Dim(0), heads, kvHeads, queryLength, keyLength, headDim, causal, s, layout);
    }

    /// <summary>The elements of an F32 tensor as memory (kernels that run on several threads take memory, not spans).</summary>
    private static Memory<float> F32Memory(Tensor tensor) => new((float[])tensor.Storage, tensor.Offset, tensor.Count);

    /// <summary>
    /// The gradient buffer of <paramref name="tensor"/> as memory: created on first use, zero-filled unless the kernel
    /// will <paramref name="overwrite"/> it.
    /// </summary>
    private static Memory<float> GradMemory(Tensor tensor, bool overwrite)
    {
        if (overwrite) tensor.GradBufferToWrite(out _);
        else tensor.GradBuffer();
        return F32Memory(tensor.Grad!);
    }
}
