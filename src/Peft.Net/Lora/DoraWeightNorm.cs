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
        int n = w.Rows, k = w.Columns, r = a.Dim(0);
        var av = a.AsSpan();
        var bv = b.AsSpan();
        var rowSquares = new double[n];
        w.RowSquaredNorms(rowSquares);
        var aw = new float[r * n];       // A·Wᵀ [R, N]
        w.MultiplyTransposed(av, r, aw);
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

    // weight: (N, K) dense → (N): the direct form, for merging and tests
    public static double[] RowNorms(ReadOnlySpan<float> weight, int n, int k)
    {
        var norms = new double[n];
        for (int o = 0; o < n; o++) norms[o] = Math.Sqrt(SumOfSquaresKernel.SumOfSquares(weight.Slice(o * k, k)));
        return norms;
    }
}
