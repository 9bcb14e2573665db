using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Tests.Adapters;

public class AdapterMergeTests
{
    private static Tensor Random(TensorRandom random, params int[] shape) => Tensor.Normal(shape, 0, 1, random);

    // Direct loops: delta[o, i] = s · Σ_r B[o, r]·A[r, i].
    private static float[,] Merged(Tensor w, Tensor a, Tensor b, float s, bool transposed)
    {
        int n = b.Dim(0), k = a.Dim(1), r = a.Dim(0);
        var wv = w.ToArray();
        var result = new float[n, k];
        for (int o = 0; o < n; o++)
            for (int i = 0; i < k; i++)
            {
                double sum = 0;
                for (int j = 0; j < r; j++) sum += (double)b.ToArray()[o * r + j] * a.ToArray()[j * k + i];
                result[o, i] = (transposed ? wv[i * n + o] : wv[o * k + i]) + (float)(s * sum);
            }
        return result;
    }

    private static void ScaleRows(float[,] m, float[] magnitude)
    {
        for (int o = 0; o < m.GetLength(0); o++)
        {
            double norm = 0;
            for (int i = 0; i < m.GetLength(1); i++) norm += (double)m[o, i] * m[o, i];
            for (int i = 0; i < m.GetLength(1); i++) m[o, i] = (float)(m[o, i] * magnitude[o] / Math.Sqrt(norm));
        }
    }

    private static float[] Flatten(float[,] m, bool transpose)
    {
        int rows = m.GetLength(0), cols = m.GetLength(1);
        var flat = new float[rows * cols];
        for (int o = 0; o < rows; o++)
            for (int i = 0; i < cols; i++)
                flat[transpose ? i * rows + o : o * cols + i] = m[o, i];
        return flat;
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void LinearMergeIsWPlusScaledBA(bool dora, bool fanInFanOut)
    {
        var random = new TensorRandom(3);
        int n = 7, k = 5, r = 3;
        var w = Random(random, fanInFanOut ? [k, n] : [n, k]);
        var a = Random(random, r, k);
        var b = Random(random, n, r);
        var m = dora ? Tensor.Uniform([n], 0.5f, 2f, random) : null;
        var expected = Merged(w, a, b, 0.75f, fanInFanOut);
        if (m is not null) ScaleRows(expected, m.ToArray());

        var merged = AdapterMerge.MergeLinear(w.To(DType.BF16), a, b, 0.75f, m, fanInFanOut);   // BF16 base is read as float
        var exact = Merged(w.To(DType.BF16).To(DType.F32), a, b, 0.75f, fanInFanOut);
        if (m is not null) ScaleRows(exact, m.ToArray());
        Assert.Equal(w.ShapeArray(), merged.ShapeArray());
        Assert.Equal(DType.F32, merged.DType);
        TensorAssert.Close(Flatten(exact, fanInFanOut), merged.ToArray(), atol: 1e-5, rtol: 1e-5);
        Assert.NotEqual(Flatten(expected, fanInFanOut), merged.ToArray());   // the BF16 rounding of W is visible, so W really was read as BF16
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EmbeddingMergeAddsTheTransposedDeltaAndDoraScalesColumns(bool dora)
    {
        var random = new TensorRandom(4);
        int v = 9, c = 4, r = 2;
        var e = Random(random, v, c);
        var a = Random(random, r, v);   // lora_embedding_A [R, V]
        var b = Random(random, c, r);   // lora_embedding_B [C, R]
        var m = dora ? Tensor.Uniform([c], 0.5f, 2f, random) : null;
        // Work in [C, V]: ΔEᵀ = s·B·A; DoRA norms are over V for each of the C columns of E.
        var expected = Merged(e.TransposeLast2(), a, b, 1.5f, transposed: false);
        if (m is not null) ScaleRows(expected, m.ToArray());
        var merged = AdapterMerge.MergeEmbedding(e, a, b, 1.5f, m);
        TensorAssert.Close(Flatten(expected, transpose: true), merged.ToArray(), atol: 1e-5, rtol: 1e-5);
    }

    [Fact]
    public void ShapesThatDoNotFitAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => AdapterMerge.MergeLinear(Tensor.Zeros(4, 5), Tensor.Zeros(2, 6), Tensor.Zeros(4, 2), 1));
        Assert.Contains("weight tensor [4, 5] F32, A tensor [2, 6] F32", e.Message);
        Assert.Throws<ArgumentException>(() => AdapterMerge.MergeLinear(Tensor.Zeros(4, 5), Tensor.Zeros(2, 5), Tensor.Zeros(4, 2), 1, Tensor.Zeros(5)));
        Assert.Throws<ArgumentException>(() => AdapterMerge.MergeEmbedding(Tensor.Zeros(9, 4), Tensor.Zeros(2, 9), Tensor.Zeros(3, 2), 1));
    }
}
