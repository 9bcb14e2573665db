namespace Peft.Net.Core.Kernels;

/// <summary>
/// Double-precision special functions for the scalar reference kernels (.NET has no erf). Accurate to ~1e-11
/// relative, far below float resolution, so the references are oracles for the float SIMD approximations.
/// </summary>
internal static class ReferenceMath
{
    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double InvSqrtPi = 0.5641895835477563;
    private const double InvSqrt2 = 0.7071067811865476;
    private const double InvSqrt2Pi = 0.3989422804014327;

    /// <summary>The complementary error function erfc(z) = 1 − erf(z).</summary>
    public static double Erfc(double z)
    {
        if (double.IsNaN(z)) return double.NaN;
        if (z < 0) return 2 - Erfc(-z);
        if (z < 3) return 1 - ErfSeries(z);
        // Continued fraction erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated bottom-up.
        double k = z;
        for (int n = 40; n >= 1; n--) k = z + 0.5 * n / k;
        return Math.Exp(-z * z) * InvSqrtPi / k;
    }

    /// <summary>The standard normal distribution function Φ(x) = ½·erfc(−x/√2).</summary>
    public static double NormalCdf(double x) => 0.5 * Erfc(-x * InvSqrt2);

    /// <summary>The standard normal density φ(x) = e^(−x²/2)/√(2π).</summary>
    public static double NormalDensity(double x) => InvSqrt2Pi * Math.Exp(-0.5 * x * x);

    /// <summary>The logistic function 1/(1 + e^(−x)).</summary>
    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    // erf(z) = 2/√π · e^(−z²) · Σ z·(2z²)ⁿ / (1·3·…·(2n+1)): every term is positive, so nothing cancels (z ≥ 0).
    private static double ErfSeries(double z)
    {
        double term = z, sum = z, twoZ2 = 2 * z * z;
        for (int n = 1; term > 1e-17 * sum; n++)
        {
            term *= twoZ2 / (2 * n + 1);
            sum += term;
        }
        return TwoOverSqrtPi * Math.Exp(-z * z) * sum;
    }
}
