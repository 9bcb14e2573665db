using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Kernels;

public class SoftmaxKernelTests
{
    private const int Rows = 3;

    [Fact]
    public void Softmax_matches_reference_for_every_row_length()
    {
        foreach (int columns in TensorAssert.SimdLengths.Where(c => c > 0))
        {
            var x = KernelTestData.Values(Rows * columns, 41, 5f);
            var y = new float[x.Length];
            var yRef = new float[x.Length];
            SoftmaxKernels.Forward(x, y, columns);
            SoftmaxKernels.ForwardReference(x, yRef, columns);
            KernelAssert.Close(yRef, y, atol: 1e-7, rtol: 2e-6, $"softmax forward C={columns}");

            var g = KernelTestData.Values(x.Length, 42, 1f, extremes: false);
            var dx = KernelTestData.Values(x.Length, 43, 1f, extremes: false);
            var dxRef = (float[])dx.Clone();
            SoftmaxKernels.Backward(g, yRef, dx, columns);
            SoftmaxKernels.BackwardReference(g, yRef, dxRef, columns);
            KernelAssert.Close(dxRef, dx, atol: 1e-6, rtol: 1e-5, $"softmax backward C={columns}");
        }
    }

    [Fact]
    public void LogSoftmax_matches_reference_for_every_row_length()
    {
        foreach (int columns in TensorAssert.SimdLengths.Where(c => c > 0))
        {
            var x = KernelTestData.Values(Rows * columns, 44, 5f);
            var y = new float[x.Length];
            var yRef = new float[x.Length];
            LogSoftmaxKernels.Forward(x, y, columns);
            LogSoftmaxKernels.ForwardReference(x, yRef, columns);
            double scale = Math.Max(1, yRef.Max(MathF.Abs));
            KernelAssert.Close(yRef, y, atol: 2e-7 * scale, rtol: 1e-6, $"log_softmax forward C={columns}");

            var g = KernelTestData.Values(x.Length, 45, 1f, extremes: false);
            var dx = KernelTestData.Values(x.Length, 46, 1f, extremes: false);
            var dxRef = (float[])dx.Clone();
            LogSoftmaxKernels.Backward(g, yRef, dx, columns);
            LogSoftmaxKernels.BackwardReference(g, yRef, dxRef, columns);
            KernelAssert.Close(dxRef, dx, atol: 1e-5, rtol: 1e-5, $"log_softmax backward C={columns}");
        }
    }

    [Fact]
    public void Rows_that_do_not_divide_the_span_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => SoftmaxKernels.Forward(new float[7], new float[7], 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxKernels.Forward(new float[6], new float[6], 0));
        Assert.Throws<ArgumentException>(() => LogSoftmaxKernels.Backward(new float[6], new float[6], new float[3], 3));
    }
}
