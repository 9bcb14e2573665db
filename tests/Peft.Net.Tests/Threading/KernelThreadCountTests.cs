using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Optim;
using Peft.Net.Quantization;
using Peft.Net.Tests.Optim;
using static Peft.Net.Tests.Quantization.QuantTestData;

namespace Peft.Net.Tests.Threading;

/// <summary>
/// The 4-bit and 8-bit kernels that run on the engine's thread pool (dequantize, quantize, streaming quantize, the
/// 8-bit AdamW step) give the scalar reference's bits at 1, 2 and 3 threads, on sizes that take their parallel paths.
/// </summary>
public class KernelThreadCountTests
{
    /// <summary>Above the 2^20-element parallel threshold: five 2^18-element chunks, odd, with a short last block.</summary>
    internal const int FourBitElements = (1 << 20) + 3 * 4096 + 77;

    /// <summary>Six items of 64 blocks of 256, the last one partial, ending in a partial block.</summary>
    internal const int AdamElements = 5 * 64 * 256 + 1000;

    public static TheoryData<int> Threads() => new() { 1, 2, 3 };

    [Theory]
    [MemberData(nameof(Threads))]
    public void Dequantize_gives_the_reference_bits_at_any_thread_count(int threads)
    {
        foreach (bool doubleQuant in new[] { false, true })
        {
            var q = Nf4Quantizer.Quantize(Tensor.FromArray(Mixed(FourBitElements, 64, seed: 3, specials: !doubleQuant)),
                QuantType.Nf4, 64, doubleQuant);
            var expected = new float[FourBitElements];
            FourBitReference.Dequantize(q.Packed, q.GetAbsmax(), QuantType.Nf4, 64, 0, expected);
            var actual = new float[FourBitElements];
            WithThreads.Run(threads, () =>
            {
                q.DequantizeInto(actual);
                return 0;
            });
            BitEqual(expected, actual, $"{threads} threads, double quant {doubleQuant}");
        }
    }

    [Theory]
    [MemberData(nameof(Threads))]
    public void Quantize_gives_the_reference_bytes_at_any_thread_count(int threads)
    {
        foreach (var (type, blockSize) in new[] { (QuantType.Nf4, 64), (QuantType.Fp4, 4096), (QuantType.Nf4, 32) })
        {
            var x = Mixed(FourBitElements, blockSize, seed: blockSize);
            var expectedPacked = new byte[(FourBitElements + 1) / 2];
            var expectedAbsmax = new float[(FourBitElements + blockSize - 1) / blockSize];
            FourBitReference.Quantize(x, type, blockSize, expectedPacked, expectedAbsmax);
            var q = WithThreads.Run(threads, () => Nf4Quantizer.Quantize(Tensor.FromArray(x), type, blockSize));
            string what = $"{threads} threads, {type} B={blockSize}";
            BytesEqual(expectedPacked, q.Packed, what + " packed");
            BitEqual(expectedAbsmax, q.Absmax, what + " absmax");
        }
    }

    [Theory]
    [MemberData(nameof(Threads))]
    public void Streaming_quantize_gives_the_reference_bytes_at_any_thread_count(int threads)
    {
        const int n = 3 * (1 << 18) + 4097; // four chunks, the last one short
        using var folder = new TempFolder();
        string path = folder.File("w.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray(Mixed(n, 64, seed: 9, specials: false), n).To(DType.BF16) });
        using var file = SafetensorsFile.Open(path);
        var x = file.ReadTensor("w").To(DType.F32).AsSpan().ToArray();
        var expectedPacked = new byte[(n + 1) / 2];
        var expectedAbsmax = new float[(n + 63) / 64];
        FourBitReference.Quantize(x, QuantType.Nf4, 64, expectedPacked, expectedAbsmax);
        var q = WithThreads.Run(threads, () => Nf4Quantizer.Quantize(file, "w", QuantType.Nf4, 64));
        BytesEqual(expectedPacked, q.Packed, $"{threads} threads packed");
        BitEqual(expectedAbsmax, q.Absmax, $"{threads} threads absmax");
    }

    [Theory]
    [MemberData(nameof(Threads))]
    public void Eight_bit_AdamW_steps_give_the_reference_bits_at_any_thread_count(int threads)
    {
        const double lr = 1e-3, wd = 0.01;
        var random = new Random(17);
        var start = Enumerable.Range(0, AdamElements).Select(_ => (float)(random.NextDouble() - 0.5) * 0.2f).ToArray();
        int blocks = AdamW8bitKernel.BlockCount(AdamElements);
        var (p, c1, c2, a1, a2) = (start.ToArray(), new byte[AdamElements], new byte[AdamElements], new float[blocks], new float[blocks]);
        var (rp, rc1, rc2, ra1, ra2) = (start.ToArray(), new byte[AdamElements], new byte[AdamElements], new float[blocks], new float[blocks]);
        for (int step = 1; step <= 3; step++)
        {
            var g = Enumerable.Range(0, AdamElements).Select(_ => (float)(random.NextDouble() - 0.5) * 0.02f).ToArray();
            g[7 * step] = float.NaN; // resets that element's moments
            AdamW8bitTests.ReferenceStep(rp, g, rc1, rc2, ra1, ra2, step, lr, wd);
            var c = AdamW8bitCoefficients.For(lr, wd, 0.9, 0.999, 1e-8, step);
            WithThreads.Run(threads, () =>
            {
                AdamW8bitKernel.Update(p, g, c1, c2, a1, a2, c);
                return 0;
            });
            string what = $"{threads} threads, step {step}";
            BitEqual(rp, p, what + " parameter");
            BytesEqual(rc1, c1, what + " codes1");
            BytesEqual(rc2, c2, what + " codes2");
            BitEqual(ra1, a1, what + " absmax1");
            BitEqual(ra2, a2, what + " absmax2");
        }
    }

    [Fact]
    public void Parallel_calls_allocate_nothing_once_warm()
    {
        var x = Mixed(FourBitElements, 64, seed: 2, specials: false);
        var q = Nf4Quantizer.Quantize(Tensor.FromArray(x), QuantType.Nf4, 64, doubleQuant: true);
        var decoded = new float[FourBitElements];
        var packed = new byte[(FourBitElements + 1) / 2];
        var absmax = new float[(FourBitElements + 63) / 64];
        int blocks = AdamW8bitKernel.BlockCount(AdamElements);
        var (p, g, c1, c2, a1, a2) = (x[..AdamElements], x[^AdamElements..], new byte[AdamElements], new byte[AdamElements], new float[blocks], new float[blocks]);
        var c = AdamW8bitCoefficients.For(1e-3, 0.01, 0.9, 0.999, 1e-8, 1);
        void Calls()
        {
            q.DequantizeInto(decoded);
            FourBitQuantizeKernel.QuantizeParallel(x, QuantType.Nf4, 64, packed, absmax);
            AdamW8bitKernel.Update(p, g, c1, c2, a1, a2, c);
        }
        long allocated = WithThreads.Run(3, () =>
        {
            Calls(); // warm up: this thread's cached work items, the pool's threads
            Calls();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 3; i++) Calls();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        });
        Assert.True(allocated == 0, $"three rounds of parallel dequantize, quantize and 8-bit AdamW calls allocated {allocated} bytes");
    }
}
