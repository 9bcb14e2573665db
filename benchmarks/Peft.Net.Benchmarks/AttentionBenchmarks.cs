using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// Causal attention at B = 4, H = 8, T = 256, D = 64: the fused kernels against the naive reference (which
/// materialises the T × T scores). Hkv = 8 is multi-head attention, Hkv = 2 grouped-query attention. The
/// <c>TimeFirst</c> cases run the same data in <see cref="AttentionLayout.BatchTimeHeads"/> ([B, T, H, D], as the
/// projections of a Llama block produce it), the layout training uses.
/// Run: <c>dotnet run -c Release --project benchmarks/Peft.Net.Benchmarks -- --filter *AttentionBenchmarks*</c>.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AttentionBenchmarks
{
    private const int Batch = 4, Heads = 8, Length = 256, HeadDim = 64;

    private AttentionShape _shape, _timeFirst, _decodeStep;
    private float[] _decodeQ = [], _decodeOutput = [], _decodeLogSumExp = [];
    private float[] _q = [], _k = [], _v = [], _dOutput = [];
    private float[] _output = [], _logSumExp = [], _dq = [], _dk = [], _dv = [];

    /// <summary>Key/value heads.</summary>
    [Params(8, 2)]
    public int KvHeads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _shape = new AttentionShape(Batch, Heads, KvHeads, Length, Length, HeadDim, Causal: true, 1f / MathF.Sqrt(HeadDim));
        _timeFirst = _shape with { Layout = AttentionLayout.BatchTimeHeads };
        var random = new TensorRandom(42);
        _q = Tensor.Normal([_shape.QueryCount], 0, 1, random).ToArray();
        _k = Tensor.Normal([_shape.KeyCount], 0, 1, random).ToArray();
        _v = Tensor.Normal([_shape.KeyCount], 0, 1, random).ToArray();
        _dOutput = Tensor.Normal([_shape.QueryCount], 0, 1, random).ToArray();
        _output = new float[_shape.QueryCount];
        _logSumExp = new float[_shape.RowCount];
        _dq = new float[_shape.QueryCount];
        _dk = new float[_shape.KeyCount];
        _dv = new float[_shape.KeyCount];
        _decodeStep = _timeFirst with { QueryLength = 1 };
        _decodeQ = Tensor.Normal([_decodeStep.QueryCount], 0, 1, random).ToArray();
        _decodeOutput = new float[_decodeStep.QueryCount];
        _decodeLogSumExp = new float[_decodeStep.RowCount];
    }

    [Benchmark(Baseline = true), BenchmarkCategory("DecodeStep")]
    public void ReferenceDecodeStep() => AttentionReference.Forward(_decodeQ, _k, _v, _decodeOutput, _decodeStep);

    [Benchmark, BenchmarkCategory("DecodeStep")]
    public void FusedDecodeStep() => AttentionKernels.Forward(_decodeQ, _k, _v, _decodeOutput, _decodeLogSumExp, _decodeStep);

    [Benchmark(Baseline = true), BenchmarkCategory("Forward")]
    public void ReferenceForward() => AttentionReference.Forward(_q, _k, _v, _output, _shape);

    [Benchmark, BenchmarkCategory("Forward")]
    public void FusedForward() => AttentionKernels.Forward(_q, _k, _v, _output, _logSumExp, _shape);

    [Benchmark, BenchmarkCategory("Forward")]
    public void FusedForwardTimeFirst() => AttentionKernels.Forward(_q, _k, _v, _output, _logSumExp, _timeFirst);

    [Benchmark(Baseline = true), BenchmarkCategory("ForwardBackward")]
    public void ReferenceForwardBackward()
    {
        AttentionReference.Forward(_q, _k, _v, _output, _shape);
        AttentionReference.Backward(_q, _k, _v, _dOutput, _dq, _dk, _dv, _shape);
    }

    [Benchmark, BenchmarkCategory("ForwardBackward")]
    public void FusedForwardBackward()
    {
        AttentionKernels.Forward(_q, _k, _v, _output, _logSumExp, _shape);
        AttentionKernels.Backward(_q, _k, _v, _output, _logSumExp, _dOutput, _dq, _dk, _dv, _shape);
    }

    [Benchmark, BenchmarkCategory("ForwardBackward")]
    public void FusedForwardBackwardTimeFirst()
    {
        AttentionKernels.Forward(_q, _k, _v, _output, _logSumExp, _timeFirst);
        AttentionKernels.Backward(_q, _k, _v, _output, _logSumExp, _dOutput, _dq, _dk, _dv, _timeFirst);
    }
}
