namespace Peft.Net.Cuda.Tests.Testing;

/// <summary>Bitwise comparison with a message naming the first differing element.</summary>
internal static class TensorAssert
{
    public static void BitEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:G9}, expected {expected[i]:G9} (bitwise)");
    }
}
