using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Peft.Net.Core;
using Peft.Net.LinearAlgebra;

namespace Peft.Net.Benchmarks;

/// <summary>
/// The SVDs behind PiSSA's initialisation of an [N, N] layer at rank r = 16: the one-sided Jacobi SVD (the scalar
/// reference, full decomposition; left out at 4096², where it takes minutes), the converged leading-triplet path of
/// <c>"pissa"</c>, and the randomized one of <c>"pissa_niter_4"</c>. <c>--pissa</c> times a whole 4096² PiSSA init.
/// </summary>
/// <remarks>Seconds per call, so a short monitoring job (1 warm-up and 3 measured calls), in process.</remarks>
[MemoryDiagnoser]
[Config(typeof(MonitoringInProcess))]
public class PissaSvdBenchmarks
{
    private sealed class MonitoringInProcess : ManualConfig
    {
        public MonitoringInProcess() => AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3).WithToolchain(InProcessEmitToolchain.Instance));
    }

    private const int Rank = 16;
    private float[] _w = [];

    /// <summary>N of the square [N, N] weight.</summary>
    [Params(256, 1024, 4096)]
    public int Size { get; set; } = 256;

    [GlobalSetup]
    public void Setup() => _w = PissaWeights.Decaying(Size, Size, seed: 7);

    /// <summary>The full one-sided Jacobi SVD (what PiSSA ran before); skipped at 4096².</summary>
    [Benchmark(Baseline = true)]
    public double Jacobi() => Size > 1024 ? 0 : ThinSvd.Compute(_w, Size, Size).S[0];

    /// <summary>"pissa": the leading 16 triplets to float32 accuracy.</summary>
    [Benchmark]
    public double Leading() => TruncatedSvd.Leading(_w, Size, Size, Rank).S[0];

    /// <summary>"pissa_niter_4": randomized, 4 power iterations.</summary>
    [Benchmark]
    public double RandomizedNiter4() => TruncatedSvd.Randomized(_w, Size, Size, Rank, 4, new TensorRandom(1)).S[0];
}
