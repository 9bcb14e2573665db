using Peft.Net.Core;
using Peft.Net.Cuda.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Tests;

/// <summary>
/// The fused GEMV kernels (kernels/gemv4.cu), compiled for the CPU with warps emulated lane by lane, must equal a C#
/// emulation of their float32 operation order bit for bit, and a float64 product within the float32 error bound.
/// </summary>
public sealed class HostEmulationGemvTests
{
    public static TheoryData<int, int, int, QuantType, bool> Shapes() => new()
    {
        // K % 32 == 0: 16-byte chunk path (K = 4096: 4 chunks per lane; K = 2080: lanes get 2 or 3 chunks)
        { 1, 32, 32, QuantType.Nf4, false },
        { 5, 64, 64, QuantType.Nf4, true },
        { 7, 4096, 64, QuantType.Nf4, true },
        { 6, 4096, 4096, QuantType.Fp4, false },
        { 3, 2080, 256, QuantType.Fp4, true },
        { 9, 96, 32, QuantType.Nf4, false },
        { 130, 64, 128, QuantType.Nf4, true },   // more rows than one launch block, nested groups > 1
        // K % 32 != 0: element-wise path; blocks and bytes straddle rows, odd K puts rows on odd flat indices
        { 4, 100, 64, QuantType.Nf4, false },
        { 9, 33, 32, QuantType.Fp4, true },
        { 5, 7, 32, QuantType.Nf4, false },
        { 6, 1, 32, QuantType.Nf4, true },
        { 3, 1001, 512, QuantType.Fp4, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GemvMatchesKernelOrderBitExactAndFloat64WithinBound(int rows, int cols, int blockSize, QuantType type, bool nested)
    {
        var weight = TestWeights.Quantized([rows, cols], type, blockSize, nested, seed: (ulong)(rows * 1000 + cols));
        var random = new TensorRandom((ulong)(cols + 5));
        var x = new float[cols];
        for (int k = 0; k < cols; k++) x[k] = (float)random.NextGaussian();
        using var dir = new TempDirectory("gemv");
        CaseFile.WriteGemv(dir.File("g.case"), weight, x);
        HostEmulator.RunBatch(dir.Path);
        float[] y = CaseFile.ReadOutput<float>(dir.File("g.out"));

        string what = $"{weight.Describe()} · x";
        float[] expected = GemvReference.KernelOrder(weight, x);
        TensorAssert.BitEqual(expected, y, what);
        GemvReference.AssertWithinFloat32Bound(weight, x, y, what);
    }
}
