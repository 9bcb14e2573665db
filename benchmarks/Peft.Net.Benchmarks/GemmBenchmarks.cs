using BenchmarkDotNet.Attributes;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// The float32 GEMM C[M, N] = A[M, K]·B[K, N] at 1024³ and at the shapes of a small Llama layer with M = 1024
/// tokens: attention projections (512×512), MLP up/down (512↔1376) and LoRA rank-8 down/up products; and the
/// matrix-vector products of one decode step (M = 1: MLP up/down and a 4096-token head), bound by reading B.
/// Compare with benchmarks/peers/gemm_peer.py (torch.mm) through benchmarks/peers/gemm_ratio.sh.
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    /// <summary>"M×N×K".</summary>
    [Params("1024x1024x1024", "1024x512x512", "1024x1376x512", "1024x512x1376", "1024x8x512", "1024x512x8", "1x1376x512", "1x512x1376", "1x4096x512")]
    public string Shape { get; set; } = "1024x1024x1024";

    private int M => int.Parse(Shape.Split('x')[0]);
    private int N => int.Parse(Shape.Split('x')[1]);
    private int K => int.Parse(Shape.Split('x')[2]);

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _a = Enumerable.Range(0, M * K).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        _b = Enumerable.Range(0, K * N).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        _c = new float[M * N];
    }

    /// <summary>C = A·B (both row-major, as torch.mm).</summary>
    [Benchmark]
    public void MatMul() => Gemm.Multiply(_a, false, _b, false, _c, M, N, K, accumulate: false);

    /// <summary>C = A·Bᵀ with B stored (N, K): a linear layer's forward pass.</summary>
    [Benchmark]
    public void MatMulTransposedB() => Gemm.Multiply(_a, false, _b, true, _c, M, N, K, accumulate: false);
}
