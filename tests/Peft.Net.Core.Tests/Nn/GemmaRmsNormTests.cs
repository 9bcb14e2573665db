using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Nn;

/// <summary>RmsNorm with a weight offset of 1: Gemma's <c>x·rsqrt(mean(x²) + eps)·(1 + weight)</c>.</summary>
public class GemmaRmsNormTests
{
    [Fact]
    public void OffsetNormStartsAtZeroAndScalesByOnePlusTheWeight()
    {
        var norm = new RmsNorm(4, 1e-6f, weightOffset: 1f);
        Assert.Equal([0f, 0f, 0f, 0f], norm.Weight.ToArray());
        norm.Weight.AsSpan()[2] = 0.5f;
        norm.Weight.AsSpan()[3] = -2f;
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 4);
        double rstd = 1 / Math.Sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
        TensorAssert.Close([(float)rstd, (float)(rstd * 2), (float)(rstd * 4.5), (float)(rstd * -4)], norm.Forward(x).ToArray(), 1e-6, 1e-6, "gemma norm");
    }

    [Fact]
    public void OffsetNormEqualsAPlainNormWithTheWeightPlusOneForwardAndBackward()
    {
        var random = new TensorRandom(3);
        var gemma = new RmsNorm(6, 1e-5f, 1f);
        var plain = new RmsNorm(6, 1e-5f);
        var w = Tensor.Normal([6], 0f, 0.2f, random).AsSpan();
        for (int i = 0; i < 6; i++)
        {
            gemma.Weight.AsSpan()[i] = w[i];
            plain.Weight.AsSpan()[i] = 1f + w[i];
        }
        var residual = Tensor.Normal([2, 3, 6], 0f, 1f, random);
        var x = Tensor.Normal([2, 3, 6], 0f, 1f, random);
        var g = Tensor.Normal([2, 3, 6], 0f, 1f, random);

        var (sumA, normedA) = gemma.AddAndNorm(residual, x);
        Ops.Sum(Ops.Mul(Ops.Add(gemma.Forward(sumA), normedA), g)).Backward();
        var (sumB, normedB) = plain.AddAndNorm(residual, x);
        Ops.Sum(Ops.Mul(Ops.Add(plain.Forward(sumB), normedB), g)).Backward();

        TensorAssert.BitEqual(normedB.AsSpan(), normedA.AsSpan(), "AddAndNorm");
        TensorAssert.Close(plain.Weight.Grad!.AsSpan(), gemma.Weight.Grad!.AsSpan(), 1e-6, 1e-6, "weight gradient");
    }

    [Fact]
    public void NonFiniteOffsetIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsNorm(4, 1e-6f, float.NaN));
}
