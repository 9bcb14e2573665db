using Peft.Net.TorchSharp;
using TorchSharp;
using EngineTensor = Peft.Net.Core.Tensor;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>Comparisons between engine and TorchSharp tensors for the parity tests.</summary>
internal static class Parity
{
    public static Tensor ToTorch(EngineTensor t) => TensorBridge.FromEngine(t);

    public static float[] Values(Tensor t) => t.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();

    /// <summary>max |a − b| / max |b|.</summary>
    public static double RelativeError(float[] actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs((double)actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs((double)expected[i]));
        }
        Assert.True(scale > 0, "the expected values are all zero: the comparison would prove nothing");
        return diff / scale;
    }

    public static void Close(EngineTensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.Equal(expected.ShapeArray().Select(d => (long)d), actual.shape);
        double error = RelativeError(Values(actual), expected.ToArray());
        Assert.True(error <= tolerance, $"{what}: relative error {error:E3} > {tolerance:E1}");
    }

    public static void CopyInto(Tensor target, EngineTensor source)
    {
        using var _ = torch.no_grad();
        using var t = ToTorch(source);
        target.copy_(t);
    }
}
