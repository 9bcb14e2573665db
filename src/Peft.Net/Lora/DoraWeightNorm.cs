using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Lora;

/// <summary>
/// ‖W + scaling·B·A‖ per output row, DoRA's weight norm, without forming B·A (the factored form of PEFT PR #3387):
/// <c>‖W_o‖² + 2c·Σ_r (W·Aᵀ)_{o,r}·B_{o,r} + c²·Σ_r (B·(A·Aᵀ))_{o,r}·B_{o,r}</c>. Costs one [N,K]×[K,R] product and
/// R×R-sized products, where the dense form costs an [N,R]×[R,K] product and an [N,K] temporary.
/// </summary>
internal static class DoraWeightNorm
{
    // w: (N, K), a: (R, K), b: (N, R) → (N)
    public static Tensor Compute(BaseWeight w, Tensor a, Tensor b, float scaling)
    {
        int n = w.Rows, r = a.Dim(0);
        var rowSquares = new double[n];
        w.RowSquaredNorms(rowSquares);
        var aw = new float[r * n];       // A·Wᵀ [R, N]
        w.MultiplyTransposed(a.AsSpan(), r, aw);
        return Combine(rowSquares, aw, a, b, scaling);
    }

    // embedding: (V, D) table, a: (R, V), b: (D, R) → (D): the norm of each column of E + scaling·(B·A)ᵀ
    public static Tensor ComputeForEmbedding(Tensor embedding, Tensor a, Tensor b, float scaling)
    {
        int v = embedding.Dim(0), d = embedding.Dim(1), r = a.Dim(0);
        // W = Eᵀ [D, V]: its row norms are E's column norms, and A·Wᵀ = A·E [R, D]
        var columnSquares = new double[d];
        var row = new float[d];
        for (int i = 0; i < v; i++)
        {
            embedding.ReadAsFloat(i * d, row);
            for (int j = 0; j < d; j++) columnSquares[j] += (double)row[j] * row[j];
        }
        var ae = new float[r * d];
        if (embedding.DType == DType.F32)
            Gemm.Multiply(a.AsSpan(), false, embedding.AsSpan(), false, ae, r, d, v, accumulate: false);
        else
            Gemm.Multiply(a.AsSpan(), false, new TensorWeight(embedding), false, ae, r, d, v, accumulate: false);
        return Combine(columnSquares, ae, a, b, scaling);
    }

    // rowSquares: (N) ‖W_o‖², aw: (R, N) A·Wᵀ, a: (R, K), b: (N, R) → (N)
    private static Tensor Combine(double[] rowSquares, float[] aw, Tensor a, Tensor b, float scaling)
    {
        int n = rowSquares.Length, r = a.Dim(0), k = a.Dim(1);
        var av = a.AsSpan();
        var bv = b.AsSpan();
        var aat = new float[r * r];      // A·Aᵀ [R, R]
        Gemm.Multiply(av, false, av, true, aat, r, r, k, accumulate: false);
        var baat = new float[n * r];     // B·A·Aᵀ [N, R]
        Gemm.Multiply(bv, false, aat, false, baat, n, r, r, accumulate: false);

        var norm = Tensor.Zeros(n);
        var nv = norm.AsSpan();
        double c = scaling;
        for (int o = 0; o < n; o++)
        {
            double cross = 0, quadratic = 0;
            for (int j = 0; j < r; j++)
            {
                double bj = bv[o * r + j];
                cross += (double)aw[j * n + o] * bj;
                quadratic += (double)baat[o * r + j] * bj;
            }
            double squared = rowSquares[o] + 2 * c * cross + c * c * quadratic;
            nv[o] = (float)Math.Sqrt(Math.Max(squared, 0));
        }
        return norm;
    }

    // weight: (N, K) dense → (N): the direct form, for merging
    public static double[] RowNorms(ReadOnlySpan<float> weight, int n, int k)
    {
        var norms = new double[n];
        for (int o = 0; o < n; o++) norms[o] = Math.Sqrt(SumOfSquaresKernel.SumOfSquares(weight.Slice(o * k, k)));
        return norms;
    }

    // table: (V, D) dense → (D): column norms, for merging embedding adapters
    public static double[] ColumnNorms(ReadOnlySpan<float> table, int v, int d)
    {
        var squares = new double[d];
        for (int i = 0; i < v; i++)
            for (int j = 0; j < d; j++) squares[j] += (double)table[i * d + j] * table[i * d + j];
        for (int j = 0; j < d; j++) squares[j] = Math.Sqrt(squares[j]);
        return squares;
    }
}
