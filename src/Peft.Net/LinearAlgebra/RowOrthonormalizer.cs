using System.Numerics.Tensors;
using Peft.Net.Core.Kernels;

namespace Peft.Net.LinearAlgebra;

/// <summary>
/// Orthonormalises the rows of a double [R, L] matrix in place by modified Gram–Schmidt run twice ("twice is
/// enough": the second pass removes what rounding left of the first), optionally returning the lower-triangular
/// factor L with <c>rows₀ = L·Q</c> (an LQ decomposition; QR of the transpose). A row that depends exactly on the
/// rows before it becomes zero, with a zero diagonal in L.
/// </summary>
/// <remarks>
/// Each pass is right-looking: once row j is normalised, its projection leaves every later row; the later rows are
/// independent of each other and run on <see cref="ParallelRunner"/>. A row's arithmetic is the same sequence
/// whatever thread runs it, so the result is bit-identical for any thread count.
/// </remarks>
internal static class RowOrthonormalizer
{
    /// <summary>A row whose norm falls below this fraction of its starting norm is taken as dependent (set to zero).</summary>
    private const double DependentRowTolerance = 1e-13;

    /// <summary>Rows × length of the updates after one pivot below which the pass stays on the calling thread.</summary>
    private const long ParallelThreshold = 1L << 16;

    // rows: (R, L) in place → orthonormal (or zero) rows; l: (R, R) row-major lower-triangular, rows₀ = l·rows, or null
    public static void Orthonormalize(double[] rows, int count, int length, Span<double> l)
    {
        if (rows.Length != (long)count * length)
            throw new ArgumentException($"RowOrthonormalizer: [{count}, {length}] rows need {(long)count * length} values; got {rows.Length}.");
        bool wantL = !l.IsEmpty;
        if (wantL && l.Length != count * count)
            throw new ArgumentException($"RowOrthonormalizer: L must be [{count}, {count}]; got {l.Length} values.");
        var first = wantL ? new double[count * count] : null;
        var second = wantL ? new double[count * count] : null;
        Pass(rows, count, length, first);
        Pass(rows, count, length, second);
        if (!wantL) return;
        // rows₀ = L₁·Q₁ and Q₁ = L₂·Q, so L = L₁·L₂ (both lower-triangular)
        l.Clear();
        for (int i = 0; i < count; i++)
            for (int j = 0; j <= i; j++)
            {
                double sum = 0;
                for (int k = j; k <= i; k++) sum += first![i * count + k] * second![k * count + j];
                l[i * count + j] = sum;
            }
    }

    // rows: (R, L); coefficients: (R, R) lower-triangular or null — one modified Gram–Schmidt pass
    private static void Pass(double[] rows, int count, int length, double[]? coefficients)
    {
        var startNorms = new double[count];
        for (int i = 0; i < count; i++) startNorms[i] = Norm(rows.AsSpan(i * length, length));
        var work = new ProjectOut { Rows = rows, Length = length, Coefficients = coefficients, Count = count };
        for (int j = 0; j < count; j++)
        {
            var row = rows.AsSpan(j * length, length);
            double norm = Norm(row);
            if (norm == 0 || norm <= DependentRowTolerance * startNorms[j])
            {
                row.Clear();
                norm = 0;
            }
            else
                TensorPrimitives.Multiply(row, 1 / norm, row);
            if (coefficients is not null) coefficients[j * count + j] = norm;
            int later = count - j - 1;
            if (later == 0 || norm == 0) continue;
            work.Pivot = j;
            if ((long)later * length < ParallelThreshold) for (int i = 0; i < later; i++) work.Execute(i);
            else ParallelRunner.For(later, ParallelRunner.MaxThreads, work);
        }
    }

    private static double Norm(ReadOnlySpan<double> row) => Math.Sqrt(TensorPrimitives.Dot(row, row));

    /// <summary>Item i: removes the pivot row's component from row pivot + 1 + i.</summary>
    private sealed class ProjectOut : IParallelWork
    {
        public double[] Rows = [];
        public double[]? Coefficients;
        public int Length, Count, Pivot;

        public void Execute(int index)
        {
            int target = Pivot + 1 + index;
            var pivot = Rows.AsSpan(Pivot * Length, Length);
            var row = Rows.AsSpan(target * Length, Length);
            double c = TensorPrimitives.Dot<double>(pivot, row);
            TensorPrimitives.MultiplyAdd(pivot, -c, row, row);   // row −= c·pivot
            if (Coefficients is not null) Coefficients[target * Count + Pivot] = c;
        }
    }
}
