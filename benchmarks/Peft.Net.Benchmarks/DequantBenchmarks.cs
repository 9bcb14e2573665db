using BenchmarkDotNet.Attributes;
using Peft.Net.Core;
using Peft.Net.Quantization;

namespace Peft.Net.Benchmarks;

/// <summary>
/// 4-bit dequantization of 16M elements (a 4096×4096 weight) to float32, against a plain copy of the same 64 MB
/// output (the memory-bandwidth ceiling). The bar: dequantize time ≤ 2 × copy time.
/// </summary>
[MemoryDiagnoser]
public class DequantBenchmarks
{
    private const int Rows = 4096, Columns = 4096;

    private QuantizedTensor _nf4 = null!;
    private QuantizedTensor _nf4Double = null!;
    private QuantizedTensor _fp4 = null!;
    private float[] _source = null!;
    private float[] _destination = null!;

    [GlobalSetup]
    public void Setup()
    {
        var weight = Tensor.Normal([Rows, Columns], 0, 0.02f, new TensorRandom(1));
        _nf4 = Nf4Quantizer.Quantize(weight, QuantType.Nf4, 64);
        _nf4Double = Nf4Quantizer.Quantize(weight, QuantType.Nf4, 64, doubleQuant: true);
        _fp4 = Nf4Quantizer.Quantize(weight, QuantType.Fp4, 64);
        _source = weight.AsSpan().ToArray();
        _destination = new float[Rows * Columns];
    }

    /// <summary>The ceiling: copy 16M floats.</summary>
    [Benchmark(Baseline = true)]
    public void CopyFloats() => _source.AsSpan().CopyTo(_destination);

    /// <summary>NF4, B = 64, plain absmax.</summary>
    [Benchmark]
    public void DequantizeNf4() => _nf4.DequantizeInto(_destination);

    /// <summary>NF4, B = 64, plain absmax, on one thread (the kernel alone, no Parallel.For).</summary>
    [Benchmark]
    public void DequantizeNf4SingleThread() => FourBitDequantizeKernel.Decode(_nf4, 0, _destination);

    /// <summary>NF4, B = 64, double-quantized absmax (decoded per block on the fly).</summary>
    [Benchmark]
    public void DequantizeNf4DoubleQuant() => _nf4Double.DequantizeInto(_destination);

    /// <summary>FP4, B = 64.</summary>
    [Benchmark]
    public void DequantizeFp4() => _fp4.DequantizeInto(_destination);

    /// <summary>NF4 quantization of the same 16M floats (one-off cost when loading a model).</summary>
    [Benchmark]
    public QuantizedTensor QuantizeNf4DoubleQuant() => Nf4Quantizer.Quantize(Tensor.Wrap(_source, Rows, Columns), QuantType.Nf4, 64, doubleQuant: true);
}
