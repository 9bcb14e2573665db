using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels;

/// <summary>Σ xᵢ² of float32 values accumulated in double precision (the squared L2 norm for gradient clipping).</summary>
internal static class SumOfSquaresKernel
{
    // values: (N) → scalar
    /// <summary>Σ xᵢ² in double, widening each float vector into two double vectors (Vector512/Vector256, scalar tail).</summary>
    public static double SumOfSquares(ReadOnlySpan<float> values)
    {
        int n = values.Length;
        ref float x = ref MemoryMarshal.GetReference(values);
        int i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            var acc0 = Vector512<double>.Zero;
            var acc1 = Vector512<double>.Zero;
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var (lower, upper) = Vector512.Widen(Vector512.LoadUnsafe(ref x, (nuint)i));
                acc0 = Vector512.FusedMultiplyAdd(lower, lower, acc0);
                acc1 = Vector512.FusedMultiplyAdd(upper, upper, acc1);
            }
            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var acc0 = Vector256<double>.Zero;
            var acc1 = Vector256<double>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var (lower, upper) = Vector256.Widen(Vector256.LoadUnsafe(ref x, (nuint)i));
                acc0 = Vector256.FusedMultiplyAdd(lower, lower, acc0);
                acc1 = Vector256.FusedMultiplyAdd(upper, upper, acc1);
            }
            sum = Vector256.Sum(acc0 + acc1);
        }
        for (; i < n; i++)
        {
            double xi = values[i];
            sum += xi * xi;
        }
        return sum;
    }

    // values: (N) → scalar
    /// <summary>Scalar reference of <see cref="SumOfSquares"/>: a plain left-to-right double sum.</summary>
    public static double SumOfSquaresReference(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values)
        {
            double x = v;
            sum += x * x;
        }
        return sum;
    }
}
