using BenchmarkDotNet.Attributes;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// The thin products of a LoRA layer's backward pass at rank 8 over M = 1024 tokens, with the large operand (the
/// output gradient g [M, N]) either in cache (one copy, read again and again) or out of it (<see cref="OutOfCache"/>:
/// each call reads the next of 16 copies, 32–90 MB in all, more than the L3): dBᵀ = uᵀ·g on the streaming outer kernel
/// (<see cref="GemmOuterKernel"/>) and du = g·B on the dot kernel. In a training step these operands were written by
/// the previous operation; how much of them is still cached depends on the model's size.
/// Run: <c>dotnet run -c Release --project benchmarks/Peft.Net.Benchmarks -- --filter '*LoraGradientProduct*'</c>.
/// </summary>
[ShortRunJob]
public class LoraGradientProductBenchmarks
{
    private const int Tokens = 1024, Rank = 8, Copies = 16;
    private float[][] _gradients = [];
    private float[] _u = [], _b = [], _result = [];
    private int _next;

    /// <summary>Output features N of the layer (q/k/v/o and down: 512; gate/up: 1376).</summary>
    [Params(512, 1376)]
    public int Features { get; set; } = 512;

    /// <summary>Whether each call reads a copy of g that is out of cache.</summary>
    [Params(false, true)]
    public bool OutOfCache { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        float[] Uniform(int length) => Enumerable.Range(0, length).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        _gradients = Enumerable.Range(0, OutOfCache ? Copies : 1).Select(_ => Uniform(Tokens * Features)).ToArray();
        _u = Uniform(Tokens * Rank);
        _b = Uniform(Features * Rank);
        _result = new float[Math.Max(Tokens, Features) * Rank];
    }

    private float[] NextGradient() => _gradients[_next++ % _gradients.Length];

    /// <summary>dB[N, R] = gᵀ·u, computed as its transpose uᵀ·g on the outer kernel.</summary>
    [Benchmark(Baseline = true)]
    public void BGradient() => Gemm.Multiply(NextGradient(), true, _u, false, _result, Features, Rank, Tokens, accumulate: false);

    /// <summary>du[M, R] = g·B on the dot kernel.</summary>
    [Benchmark]
    public void DownProjectionGradient() => Gemm.Multiply(NextGradient(), false, _b, false, _result, Tokens, Rank, Features, accumulate: false);
}
