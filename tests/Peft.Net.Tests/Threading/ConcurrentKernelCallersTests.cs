using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Optim;
using Peft.Net.Quantization;
using static Peft.Net.Tests.Quantization.QuantTestData;

namespace Peft.Net.Tests.Threading;

/// <summary>
/// Callers that share the engine's thread pool at once: two "models" each looping over 4-bit decode → 8-bit AdamW
/// step → 4-bit quantize, beside a loader that streams a 4-bit weight from a file again and again. Each finishes
/// (a deadlock fails after two minutes instead of hanging) with the bits of running alone on one thread.
/// </summary>
public class ConcurrentKernelCallersTests
{
    private const int Steps = 4;
    private const int Loads = 6;
    private const int LoadElements = 3 * (1 << 18) + 4097;

    private sealed record Outcome(float[] Parameter, byte[] Codes1, byte[] Codes2, float[] Absmax1, float[] Absmax2, float[] Decoded, QuantizedTensor Weight);

    /// <summary>
    /// Caller <paramref name="caller"/>'s loop: decode its 4-bit weight, take an 8-bit AdamW step with the decoded
    /// values as the gradient, quantize the new parameter into the next 4-bit weight (caller 1 double-quantized).
    /// </summary>
    private static Outcome Train(int caller)
    {
        int n = KernelThreadCountTests.FourBitElements, blocks = AdamW8bitKernel.BlockCount(n);
        bool doubleQuant = caller == 1;
        var parameter = Mixed(n, 64, seed: 40 + caller, specials: false);
        var (codes1, codes2, absmax1, absmax2) = (new byte[n], new byte[n], new float[blocks], new float[blocks]);
        var weight = Nf4Quantizer.Quantize(Tensor.FromArray(parameter.ToArray()), QuantType.Nf4, 64, doubleQuant);
        var decoded = new float[n];
        for (int step = 1; step <= Steps; step++)
        {
            weight.DequantizeInto(decoded);
            AdamW8bitKernel.Update(parameter, decoded, codes1, codes2, absmax1, absmax2, AdamW8bitCoefficients.For(1e-3, 0.01, 0.9, 0.999, 1e-8, step));
            weight = Nf4Quantizer.Quantize(Tensor.FromArray(parameter.ToArray()), QuantType.Nf4, 64, doubleQuant);
        }
        return new Outcome(parameter, codes1, codes2, absmax1, absmax2, decoded, weight);
    }

    private static QuantizedTensor[] Load(SafetensorsFile file) =>
        Enumerable.Range(0, Loads).Select(_ => Nf4Quantizer.Quantize(file, "w", QuantType.Nf4, 64, doubleQuant: true)).ToArray();

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Two_training_loops_and_a_loader_at_once_give_the_bits_of_running_alone_on_one_thread(int threads)
    {
        using var folder = new TempFolder();
        string path = folder.File("w.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray(Mixed(LoadElements, 64, seed: 8, specials: false), LoadElements).To(DType.BF16) });
        using var file = SafetensorsFile.Open(path);

        var (soloFirst, soloSecond, soloLoad) = WithThreads.Run(1, () => (Train(0), Train(1), Load(file).First()));

        Outcome? first = null, second = null;
        QuantizedTensor[] loaded = [];
        WithThreads.Run(threads, () =>
        {
            Concurrently.Run(TimeSpan.FromMinutes(2), () => first = Train(0), () => second = Train(1), () => loaded = Load(file));
            return 0;
        });

        AssertSame(soloFirst, first!, $"{threads} threads, caller 0");
        AssertSame(soloSecond, second!, $"{threads} threads, caller 1");
        Assert.Equal(Loads, loaded.Length);
        for (int i = 0; i < Loads; i++) AssertSame(soloLoad, loaded[i], $"{threads} threads, load {i}");
    }

    private static void AssertSame(Outcome expected, Outcome actual, string what)
    {
        BitEqual(expected.Parameter, actual.Parameter, what + " parameter");
        BytesEqual(expected.Codes1, actual.Codes1, what + " codes1");
        BytesEqual(expected.Codes2, actual.Codes2, what + " codes2");
        BitEqual(expected.Absmax1, actual.Absmax1, what + " absmax1");
        BitEqual(expected.Absmax2, actual.Absmax2, what + " absmax2");
        BitEqual(expected.Decoded, actual.Decoded, what + " decoded weight");
        AssertSame(expected.Weight, actual.Weight, what + " weight");
    }

    private static void AssertSame(QuantizedTensor expected, QuantizedTensor actual, string what)
    {
        Assert.Equal(expected.IsDoubleQuantized, actual.IsDoubleQuantized);
        BytesEqual(expected.Packed, actual.Packed, what + " packed");
        BitEqual(expected.GetAbsmax(), actual.GetAbsmax(), what + " absmax");
    }
}
