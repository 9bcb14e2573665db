using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

/// <summary>
/// The routing of <see cref="Nf4Linear.Forward"/> to <see cref="Nf4Linear.GemvBackend"/>, with a C# backend that
/// answers only for its own weight (other tests running in parallel never reach it: it declines theirs).
/// </summary>
public class Nf4LinearGemvBackendTests
{
    private sealed class RecordingBackend(QuantizedTensor mine, bool accept) : IQuantizedGemvBackend
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        // y[N] = W[N, K] · x[K] in float64, rounded once: distinguishable from the CPU GEMM only by rounding.
        public bool TryGemv(QuantizedTensor weight, ReadOnlySpan<float> x, Span<float> y)
        {
            if (!ReferenceEquals(weight, mine)) return false;
            Interlocked.Increment(ref _calls);
            if (!accept) return false;
            var w = weight.Dequantize().AsSpan();
            for (int r = 0; r < y.Length; r++)
            {
                double sum = 0;
                for (int k = 0; k < x.Length; k++) sum += (double)w[r * x.Length + k] * x[k];
                y[r] = (float)sum;
            }
            return true;
        }
    }

    [Fact]
    public void One_row_without_input_gradient_goes_to_the_backend_everything_else_to_the_cpu()
    {
        var random = new TensorRandom(17);
        var layer = Nf4Linear.FromLinear(new Linear(48, 10, random: random));
        var backend = new RecordingBackend(layer.Weight, accept: true);
        var previous = Nf4Linear.CompareExchangeGemvBackend(backend, null);
        Assert.Null(previous);
        try
        {
            var x = Tensor.Normal([1, 1, 48], 0, 1, random);
            var cpu = Ops.Linear(x, layer.Weight, layer.Bias);
            Tensor y;
            using (Tensor.NoGrad())
                y = layer.Forward(x);
            Assert.Equal(1, backend.Calls);
            Assert.Equal([1, 1, 10], y.ShapeArray());
            TensorAssert.CloseToScale(cpu.ToArray(), y.ToArray(), 1e-6, "backend + bias");

            layer.Forward(Tensor.Normal([48], 0, 1, random)); // no grad required on x: backend, bias still recorded
            Assert.Equal(2, backend.Calls);

            layer.Forward(Tensor.Normal([2, 48], 0, 1, random));
            var recorded = Tensor.Normal([1, 48], 0, 1, random);
            recorded.RequiresGrad = true;
            layer.Forward(recorded).Backward(Tensor.Ones([1, 10]));
            Assert.NotNull(recorded.Grad);
            Assert.Equal(2, backend.Calls); // a batch of 2 and a recorded input gradient stayed on the CPU
        }
        finally
        {
            Nf4Linear.CompareExchangeGemvBackend(null, backend);
        }
    }

    [Fact]
    public void A_declining_backend_leaves_the_cpu_result()
    {
        var random = new TensorRandom(3);
        var layer = Nf4Linear.FromLinear(new Linear(33, 7, random: random));
        var backend = new RecordingBackend(layer.Weight, accept: false);
        Assert.Null(Nf4Linear.CompareExchangeGemvBackend(backend, null));
        try
        {
            var x = Tensor.Normal([1, 33], 0, 1, random);
            Tensor y;
            using (Tensor.NoGrad())
                y = layer.Forward(x);
            Assert.Equal(1, backend.Calls);
            TensorAssert.BitEqual(Ops.Linear(x, layer.Weight, layer.Bias).ToArray(), y.ToArray(), "declined → CPU GEMM");
        }
        finally
        {
            Nf4Linear.CompareExchangeGemvBackend(null, backend);
        }
    }
}
