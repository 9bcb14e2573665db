namespace Peft.Net.Core.Tests.Kernels;

/// <summary>Random inputs for kernel tests: normal values with a sprinkling of large magnitudes and exact zeros.</summary>
internal static class KernelTestData
{
    public static float[] Values(int length, ulong seed, float scale = 3f, bool extremes = true)
    {
        var random = new TensorRandom(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (float)(scale * random.NextGaussian());
            if (extremes && i % 11 == 5) values[i] *= 15f;
            if (extremes && i % 29 == 13) values[i] = 0f;
        }
        return values;
    }

    public static float[] Positive(int length, ulong seed)
    {
        var values = Values(length, seed, 1f, extremes: false);
        for (int i = 0; i < length; i++) values[i] = 0.1f + MathF.Abs(values[i]) * 2f;
        return values;
    }
}
