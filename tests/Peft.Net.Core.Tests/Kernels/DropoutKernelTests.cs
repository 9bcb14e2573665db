using Peft.Net.Core.Kernels;

namespace Peft.Net.Core.Tests.Kernels;

public class DropoutKernelTests
{
    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    [InlineData(0.9f)]
    public void Mask_drops_a_fraction_near_p_and_keeps_the_rest_at_one_over_one_minus_p(float p)
    {
        const int n = 200_001; // odd: the last element uses a fresh draw
        var mask = new float[n];
        DropoutKernels.FillMask(mask, p, new TensorRandom(61));
        int dropped = mask.Count(v => v == 0f);
        double sigma = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(dropped, n * p - 5 * sigma, n * p + 5 * sigma);
        Assert.All(mask, v => Assert.True(v == 0f || v == 1f / (1f - p), $"mask value {v}"));
    }

    [Fact]
    public void Mask_is_reproducible_from_the_seed_and_p_zero_keeps_everything()
    {
        var a = new float[1001];
        var b = new float[1001];
        DropoutKernels.FillMask(a, 0.3f, new TensorRandom(62));
        DropoutKernels.FillMask(b, 0.3f, new TensorRandom(62));
        Assert.Equal(a, b);
        DropoutKernels.FillMask(a, 0f, new TensorRandom(63));
        Assert.All(a, v => Assert.Equal(1f, v));
        Assert.Throws<ArgumentOutOfRangeException>(() => DropoutKernels.FillMask(a, 1f, new TensorRandom(64)));
        Assert.Throws<ArgumentOutOfRangeException>(() => DropoutKernels.FillMask(a, float.NaN, new TensorRandom(64)));
    }
}
