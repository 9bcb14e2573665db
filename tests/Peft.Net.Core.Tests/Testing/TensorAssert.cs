namespace Peft.Net.Core.Tests.Testing;

/// <summary>Numeric comparisons with messages that say where and by how much two arrays differ.</summary>
public static class TensorAssert
{
    /// <summary>Asserts |expected − actual| ≤ atol + rtol·|expected| element by element.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol = 1e-5, double rtol = 1e-5, string what = "")
    {
        Xunit.Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            double tolerance = atol + rtol * Math.Abs(e);
            if (!(Math.Abs(e - a) <= tolerance))
                Xunit.Assert.Fail($"{what}: element {i} is {a:G9}, expected {e:G9} (|diff| {Math.Abs(e - a):G3} > {tolerance:G3})");
        }
    }

    /// <summary>Asserts max|expected − actual| ≤ tolerance × max(1, max|expected|): error relative to the output's scale.</summary>
    public static void CloseToScale(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance = 1e-4, string what = "")
    {
        Xunit.Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        double scale = 1;
        foreach (var e in expected) scale = Math.Max(scale, Math.Abs(e));
        double worst = 0;
        int worstIndex = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(expected[i] - (double)actual[i]);
            if (double.IsNaN(d) || d > worst) { worst = double.IsNaN(d) ? double.PositiveInfinity : d; worstIndex = i; }
        }
        Xunit.Assert.True(worst <= tolerance * scale,
            $"{what}: max |diff| {worst:G3} at element {worstIndex} exceeds {tolerance:G3} × scale {scale:G3}");
    }

    /// <summary>Asserts the two spans are bitwise identical.</summary>
    public static void BitEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what = "")
    {
        Xunit.Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Xunit.Assert.Fail($"{what}: element {i} is {actual[i]:G9}, expected {expected[i]:G9} (bitwise)");
    }

    /// <summary>The lengths every SIMD kernel test covers: every vector width and tail.</summary>
    public static readonly int[] SimdLengths = [0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000];
}
