using Peft.Net.Core;

namespace Peft.Net.Adapters;

/// <summary>
/// PEFT's merge formulas on raw tensors (reference §1.4 and §2.3), for tools that work on checkpoint files without
/// building a model (<c>peft merge</c>). Compute is float32; the caller casts the result back to the base dtype.
/// </summary>
public static class AdapterMerge
{
    /// <summary>
    /// Merges a Linear LoRA/DoRA adapter: <c>W' = W + s·B·A</c>, or with a DoRA <paramref name="magnitude"/>
    /// <c>W' = (m / ‖W + s·B·A‖_row) ⊙ (W + s·B·A)</c> (row norms over the input dimension, one per output feature).
    /// </summary>
    /// <param name="weight">The base weight [out, in] ([in, out] with <paramref name="fanInFanOut"/>), F32/F16/BF16.</param>
    /// <param name="loraA">lora_A [R, in].</param>
    /// <param name="loraB">lora_B [out, R].</param>
    /// <param name="scaling">The adapter's scaling for this module (<c>alpha / r</c> or <c>alpha / √r</c>).</param>
    /// <param name="magnitude">The DoRA magnitude vector [out], or null for plain LoRA.</param>
    /// <param name="fanInFanOut">The weight is stored transposed ([in, out], GPT-2 Conv1D).</param>
    /// <returns>A new F32 tensor with the shape of <paramref name="weight"/>.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit together; the message gives them.</exception>
    public static Tensor MergeLinear(Tensor weight, Tensor loraA, Tensor loraB, float scaling, Tensor? magnitude = null, bool fanInFanOut = false)
    {
        Check(weight.Rank == 2 && loraA.Rank == 2 && loraB.Rank == 2 && loraA.Dim(0) == loraB.Dim(1), weight, loraA, loraB, magnitude);
        int outFeatures = loraB.Dim(0), inFeatures = loraA.Dim(1);
        Check(fanInFanOut ? weight.Dim(0) == inFeatures && weight.Dim(1) == outFeatures : weight.Dim(0) == outFeatures && weight.Dim(1) == inFeatures,
            weight, loraA, loraB, magnitude);
        Check(magnitude is null || (magnitude.Rank == 1 && magnitude.Dim(0) == outFeatures), weight, loraA, loraB, magnitude);
        var merged = AddScaledProduct(fanInFanOut ? weight.To(DType.F32).TransposeLast2() : weight, loraB, loraA, scaling);   // [out, in]
        if (magnitude is not null)
            ScaleRows(merged.AsSpan(), outFeatures, inFeatures, Float(magnitude));
        return fanInFanOut ? merged.TransposeLast2().Detach() : merged;
    }

    /// <summary>
    /// Merges an Embedding LoRA/DoRA adapter: <c>E' = E + s·(B·A)ᵀ</c>; with a DoRA <paramref name="magnitude"/> [C]
    /// the factor <c>m / ‖E + s·(B·A)ᵀ‖</c> (norms over the vocabulary axis, one per embedding column) scales each column.
    /// </summary>
    /// <param name="weight">The embedding table [V, C].</param>
    /// <param name="loraEmbeddingA">lora_embedding_A [R, V].</param>
    /// <param name="loraEmbeddingB">lora_embedding_B [C, R].</param>
    /// <param name="scaling">The adapter's scaling for this module.</param>
    /// <param name="magnitude">The DoRA magnitude vector [C], or null.</param>
    /// <returns>A new F32 tensor [V, C].</returns>
    /// <exception cref="ArgumentException">The shapes do not fit together.</exception>
    public static Tensor MergeEmbedding(Tensor weight, Tensor loraEmbeddingA, Tensor loraEmbeddingB, float scaling, Tensor? magnitude = null)
    {
        Check(weight.Rank == 2 && loraEmbeddingA.Rank == 2 && loraEmbeddingB.Rank == 2 && loraEmbeddingA.Dim(0) == loraEmbeddingB.Dim(1)
            && weight.Dim(0) == loraEmbeddingA.Dim(1) && weight.Dim(1) == loraEmbeddingB.Dim(0)
            && (magnitude is null || (magnitude.Rank == 1 && magnitude.Dim(0) == weight.Dim(1))), weight, loraEmbeddingA, loraEmbeddingB, magnitude);
        // Work in the transposed [C, V] orientation, where the delta is B·A and DoRA norms are row norms.
        var merged = AddScaledProduct(weight.To(DType.F32).TransposeLast2(), loraEmbeddingB, loraEmbeddingA, scaling);
        if (magnitude is not null)
            ScaleRows(merged.AsSpan(), weight.Dim(1), weight.Dim(0), Float(magnitude));
        return merged.TransposeLast2().Detach();
    }

    // baseRows: [N, K] (any float dtype); left: [N, R]; right: [R, K] → baseRows + scaling · left·right, F32 [N, K]
    private static Tensor AddScaledProduct(Tensor baseRows, Tensor left, Tensor right, float scaling)
    {
        using var _ = Tensor.NoGrad();
        var delta = Ops.MatMul(left.To(DType.F32).Detach(), right.To(DType.F32).Detach());
        var result = Tensor.Empty(DType.F32, baseRows.ShapeArray());
        var output = result.AsSpan();
        baseRows.ReadAsFloat(output);
        ReadOnlySpan<float> d = delta.AsSpan();
        for (int i = 0; i < output.Length; i++)
            output[i] += scaling * d[i];
        return result;
    }

    // rows: [N, K] in place; magnitude: [N] → row n scaled by magnitude[n] / ‖row n‖₂
    private static void ScaleRows(Span<float> rows, int n, int k, ReadOnlySpan<float> magnitude)
    {
        for (int r = 0; r < n; r++)
        {
            var row = rows.Slice(r * k, k);
            double sum = 0;
            foreach (float v in row) sum += (double)v * v;
            float factor = magnitude[r] / (float)Math.Sqrt(sum);
            for (int i = 0; i < row.Length; i++) row[i] *= factor;
        }
    }

    private static float[] Float(Tensor t)
    {
        var values = new float[t.Count];
        t.ReadAsFloat(values);
        return values;
    }

    private static void Check(bool ok, Tensor weight, Tensor a, Tensor b, Tensor? magnitude)
    {
        if (!ok)
            throw new ArgumentException(
                $"Adapter shapes do not fit the base weight: weight {weight.Describe()}, A {a.Describe()}, B {b.Describe()}" +
                (magnitude is null ? "" : $", magnitude {magnitude.Describe()}") + ".");
    }
}
