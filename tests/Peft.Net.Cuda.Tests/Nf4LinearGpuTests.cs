using Peft.Net.Core;
using Peft.Net.Cuda.Interop;
using Peft.Net.Cuda.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Tests;

/// <summary>
/// <see cref="Nf4Linear"/> with <see cref="CudaNf4.UseForNf4Linear"/>: batch-1 forward passes without an input
/// gradient go through the GPU GEMV (on the fake driver, and on a real GPU when present); everything else stays on the
/// CPU. In the fake-driver collection because the registered backend and the substituted device are process-wide.
/// </summary>
[Collection(FakeDriverCollection.Name)]
public sealed class Nf4LinearGpuTests
{
    private static Nf4Linear Layer(int rows, int cols, int blockSize, bool nested, bool withBias, ulong seed)
    {
        var random = new TensorRandom(seed);
        var w = new float[rows * cols];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(0.05 * random.NextGaussian());
        var weight = Nf4Quantizer.Quantize(Tensor.FromArray(w, [rows, cols]), QuantType.Nf4, blockSize, nested);
        Tensor? bias = null;
        if (withBias)
        {
            var b = new float[rows];
            for (int i = 0; i < rows; i++) b[i] = (float)random.NextGaussian();
            bias = Tensor.FromArray(b, [rows]);
        }
        return new Nf4Linear(weight, bias);
    }

    private static float[] Input(int cols, int rows = 1) =>
        Enumerable.Range(0, rows * cols).Select(i => MathF.Sin(i * 0.71f) * 1.5f).ToArray();

    // The CPU result, computed by Ops.Linear directly (never through the backend).
    private static float[] Cpu(Nf4Linear layer, Tensor x)
    {
        using (Tensor.NoGrad())
            return Ops.Linear(x.Detach(), layer.Weight, layer.Bias).AsSpan().ToArray();
    }

    /// <summary>
    /// Asserts the layer's batch-1 output is the kernel-order GEMV plus the bias bit for bit, and equals the CPU GEMM
    /// within 2·(K+32)·2⁻²⁴·Σ|w·x| + 2⁻²³·|y| per element (each is within (K+32)·2⁻²⁴·Σ|w·x| of float64; the bias add
    /// rounds once more).
    /// </summary>
    private static void AssertGpuResult(Nf4Linear layer, float[] x, float[] actual, string what)
    {
        var expected = GemvReference.KernelOrder(layer.Weight, x);
        if (layer.Bias is { } bias)
        {
            var b = bias.AsSpan();
            for (int i = 0; i < expected.Length; i++) expected[i] += b[i];
        }
        TensorAssert.BitEqual(expected, actual, $"{what}: GEMV + bias");

        var cpu = Cpu(layer, Tensor.FromArray(x, [1, x.Length]));
        var (_, absSum) = GemvReference.Float64(layer.Weight, x);
        for (int r = 0; r < cpu.Length; r++)
        {
            double tolerance = 2 * (layer.InFeatures + 32) * Math.Pow(2, -24) * absSum[r] + Math.Pow(2, -23) * Math.Abs(cpu[r]) + 1e-30;
            Assert.True(Math.Abs(actual[r] - cpu[r]) <= tolerance,
                $"{what}: row {r} GPU {actual[r]:G9} vs CPU {cpu[r]:G9}, tolerance {tolerance:G3}");
        }
    }

    [Fact]
    public void BatchOneForwardRunsOnTheFakeGpuAndMatchesTheCpu()
    {
        var (device, failure, library) = FakeDriverTests.Initialise(8, 0);
        Assert.True(device is not null, failure);
        int before = FakeDriverTests.LiveAllocations(library);
        using (CudaDevice.Substitute(device))
        {
            Assert.True(CudaNf4.UseForNf4Linear());
            try
            {
                Assert.True(CudaNf4.IsUsedForNf4Linear);
                foreach (var (rows, cols, blockSize, nested, withBias) in new[]
                         { (37, 256, 64, true, true), (5, 100, 64, false, false), (19, 1000, 128, true, true) })
                {
                    var layer = Layer(rows, cols, blockSize, nested, withBias, seed: (ulong)(rows * cols));
                    var x = Input(cols);
                    foreach (int[] shape in new[] { [cols], [1, cols], new[] { 1, 1, cols } })
                    {
                        long calls = CudaNf4.Nf4LinearGpuCalls;
                        Tensor y;
                        using (Tensor.NoGrad())
                            y = layer.Forward(Tensor.FromArray((float[])x.Clone(), shape));
                        Assert.Equal(calls + 1, CudaNf4.Nf4LinearGpuCalls);
                        int[] expectedShape = (int[])shape.Clone();
                        expectedShape[^1] = rows;
                        Assert.Equal(expectedShape, y.ShapeArray());
                        AssertGpuResult(layer, x, y.AsSpan().ToArray(), $"[{rows}, {cols}] B={blockSize} nested={nested} x{string.Join("x", shape)}");
                    }
                }
            }
            finally
            {
                CudaNf4.StopUsingForNf4Linear();
            }
            Assert.False(CudaNf4.IsUsedForNf4Linear);
            Assert.Null(Nf4Linear.GemvBackend);
        }
        AssertEveryAllocationFreed(library, before);
    }

    [Fact]
    public void WeightIsUploadedOnceAndFreedWhenCollected()
    {
        var (device, failure, library) = FakeDriverTests.Initialise(9, 0);
        Assert.True(device is not null, failure);
        int before = FakeDriverTests.LiveAllocations(library);
        using (CudaDevice.Substitute(device))
        {
            var backend = new Nf4LinearGpuBackend();
            var y = new float[24];
            RunTwice(backend, y);
            // Weight (packed, map, codes, nested absmax, nested map) + x + y buffers stay while the backend lives.
            Assert.Equal(before + 7, FakeDriverTests.LiveAllocations(library));
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Assert.Equal(before + 2, FakeDriverTests.LiveAllocations(library)); // the weight is gone: its device copy too
            backend.Release();
            Assert.Equal(before, FakeDriverTests.LiveAllocations(library));
            Assert.Equal(2, backend.Calls);
        }
    }

    // After StopUsingForNf4Linear: the backend freed every weight it still had. A layer the collector took during the
    // test (its weight is a weak key of the backend's table, so Release no longer sees it) frees its device copy in its
    // finalizer, as WeightIsUploadedOnceAndFreedWhenCollected checks: those run first, then nothing may be left.
    private static void AssertEveryAllocationFreed(IntPtr library, int before)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, FakeDriverTests.LiveAllocations(library));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void RunTwice(Nf4LinearGpuBackend backend, float[] y)
    {
        var layer = Layer(24, 128, 64, nested: true, withBias: false, seed: 3);
        var x = Input(128);
        Assert.True(backend.TryGemv(layer.Weight, x, y));
        Assert.True(backend.TryGemv(layer.Weight, x, y));
        TensorAssert.BitEqual(GemvReference.KernelOrder(layer.Weight, x), y, "backend GEMV");
    }

    [Fact]
    public void BatchesAndRecordedInputGradientsStayOnTheCpu()
    {
        var (device, failure, library) = FakeDriverTests.Initialise(8, 0);
        Assert.True(device is not null, failure);
        int before = FakeDriverTests.LiveAllocations(library);
        using (CudaDevice.Substitute(device))
        {
            Assert.True(CudaNf4.UseForNf4Linear());
            try
            {
                var layer = Layer(11, 96, 64, nested: true, withBias: true, seed: 8);
                long calls = CudaNf4.Nf4LinearGpuCalls;

                // Two rows: the CPU GEMM, bit for bit.
                var batch = Tensor.FromArray(Input(96, rows: 2), [2, 96]);
                Tensor y2;
                using (Tensor.NoGrad())
                    y2 = layer.Forward(batch);
                Assert.Equal(calls, CudaNf4.Nf4LinearGpuCalls);
                TensorAssert.BitEqual(Cpu(layer, batch), y2.AsSpan(), "batch of 2");

                // One row whose gradient is recorded: the CPU path, and the gradient reaches x.
                var x = Tensor.FromArray(Input(96), [1, 96]);
                x.RequiresGrad = true;
                var y = layer.Forward(x);
                Assert.Equal(calls, CudaNf4.Nf4LinearGpuCalls);
                TensorAssert.BitEqual(Cpu(layer, x), y.AsSpan(), "recorded batch 1");
                y.Backward(Tensor.Ones([1, 11]));
                Assert.NotNull(x.Grad);

                // The same input under NoGrad, and an input without a gradient while recording: the GPU.
                using (Tensor.NoGrad())
                    y = layer.Forward(x);
                Assert.Equal(calls + 1, CudaNf4.Nf4LinearGpuCalls);
                AssertGpuResult(layer, Input(96), y.AsSpan().ToArray(), "requires grad under NoGrad");

                var trainableBias = layer.Bias!;
                trainableBias.RequiresGrad = true;
                y = layer.Forward(Tensor.FromArray(Input(96), [1, 96]));
                Assert.Equal(calls + 2, CudaNf4.Nf4LinearGpuCalls);
                y.Backward(Tensor.Ones([1, 11]));
                Assert.Equal(Enumerable.Repeat(1f, 11).ToArray(), trainableBias.Grad!.AsSpan().ToArray());
            }
            finally
            {
                CudaNf4.StopUsingForNf4Linear();
            }
        }
        AssertEveryAllocationFreed(library, before);
    }

    [NoGpuFact]
    public void WithoutAGpuRegisteringIsHarmlessAndEverythingRunsOnTheCpu()
    {
        var layer = Layer(9, 64, 64, nested: false, withBias: true, seed: 5);
        var x = Tensor.FromArray(Input(64), [1, 64]);
        var expected = Cpu(layer, x);

        Assert.Null(Nf4Linear.GemvBackend);
        using (Tensor.NoGrad())
            TensorAssert.BitEqual(expected, layer.Forward(x).AsSpan(), "no backend");

        long calls = CudaNf4.Nf4LinearGpuCalls;
        Assert.False(CudaNf4.UseForNf4Linear());     // no GPU: nothing registered, no exception
        Assert.False(CudaNf4.IsUsedForNf4Linear);
        Assert.Null(Nf4Linear.GemvBackend);
        CudaNf4.StopUsingForNf4Linear();              // harmless without a GPU

        // A backend registered anyway (e.g. on a machine that lost its GPU) declines and the CPU answers.
        var backend = new Nf4LinearGpuBackend();
        Nf4Linear.GemvBackend = backend;
        try
        {
            Tensor y;
            using (Tensor.NoGrad())
                y = layer.Forward(x);
            TensorAssert.BitEqual(expected, y.AsSpan(), "declining backend");
            Assert.Equal(0, backend.Calls);
        }
        finally
        {
            Nf4Linear.GemvBackend = null;
        }
        Assert.Equal(calls, CudaNf4.Nf4LinearGpuCalls);
    }

    [Fact]
    public void BackendFallsBackWhenTheDeviceGoesAway()
    {
        var (device, failure, library) = FakeDriverTests.Initialise(8, 0);
        Assert.True(device is not null, failure);
        var layer = Layer(6, 64, 64, nested: true, withBias: false, seed: 12);
        var x = Input(64);
        var backend = new Nf4LinearGpuBackend();
        using (CudaDevice.Substitute(device))
            Assert.True(backend.TryGemv(layer.Weight, x, new float[6]));
        // Outside the substitution the process's own device is used: none on a machine without a GPU.
        Assert.Equal(CudaNf4.IsAvailable, backend.TryGemv(layer.Weight, x, new float[6]));
        Assert.False(backend.TryGemv(layer.Weight, x, new float[5]));   // wrong length: declined, never thrown
        backend.Release();
    }

    [GpuFact]
    [Trait("Category", "Gpu")]
    public void BatchOneForwardRunsOnTheGpuAndMatchesTheCpu()
    {
        Assert.True(CudaNf4.UseForNf4Linear());
        try
        {
            foreach (var (rows, cols, blockSize, nested, withBias) in new[] { (4096, 4096, 64, true, true), (11008, 4096, 64, true, false), (33, 100, 64, false, true) })
            {
                var layer = Layer(rows, cols, blockSize, nested, withBias, seed: (ulong)(rows + cols));
                var x = Input(cols);
                long calls = CudaNf4.Nf4LinearGpuCalls;
                Tensor y;
                using (Tensor.NoGrad())
                    y = layer.Forward(Tensor.FromArray((float[])x.Clone(), [1, 1, cols]));
                Assert.Equal(calls + 1, CudaNf4.Nf4LinearGpuCalls);
                AssertGpuResult(layer, x, y.AsSpan().ToArray(), $"GPU [{rows}, {cols}]");
            }
        }
        finally
        {
            CudaNf4.StopUsingForNf4Linear();
        }
    }
}
