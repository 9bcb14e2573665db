namespace Peft.Net.Core.Tests.Kernels;

/// <summary>Tolerance comparison that also accepts equal infinities (TensorAssert.Close subtracts them into NaN).</summary>
internal static class KernelAssert
{
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            if (e == a || (float.IsNaN(e) && float.IsNaN(a))) continue;
            double tolerance = atol + rtol * Math.Abs(e);
            if (!(Math.Abs((double)e - a) <= tolerance))
                Assert.Fail($"{what}: element {i} is {a:G9}, expected {e:G9} (|diff| {Math.Abs((double)e - a):G3} > {tolerance:G3})");
        }
    }
}
