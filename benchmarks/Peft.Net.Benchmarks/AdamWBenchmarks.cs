using BenchmarkDotNet.Attributes;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// One AdamW update of N parameters: the SIMD kernel against its scalar reference (the baseline). The PyTorch peer
/// is benchmarks/peers/adamw_step.py (torch.optim.AdamW.step on one tensor of the same size).
/// </summary>
[MemoryDiagnoser]
public class AdamWBenchmarks
{
    private float[] _parameter = [];
    private float[] _gradient = [];
    private float[] _firstMoment = [];
    private float[] _secondMoment = [];
    private AdamWCoefficients _coefficients;

    /// <summary>N: parameter elements.</summary>
    [Params(1 << 20)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new TensorRandom(1);
        _parameter = Tensor.Normal([N], 0, 1, random).ToArray();
        _gradient = Tensor.Normal([N], 0, 1, random).ToArray();
        _firstMoment = new float[N];
        _secondMoment = new float[N];
        _coefficients = AdamWCoefficients.For(1e-3, 0.01, 0.9, 0.999, 1e-8, step: 10);
    }

    [Benchmark(Baseline = true)]
    public void Reference() => AdamWKernel.UpdateReference(_parameter, _gradient, _firstMoment, _secondMoment, _coefficients);

    [Benchmark]
    public void Simd() => AdamWKernel.Update(_parameter, _gradient, _firstMoment, _secondMoment, _coefficients);
}
