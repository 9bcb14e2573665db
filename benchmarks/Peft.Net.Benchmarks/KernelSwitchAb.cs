using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// <c>Peft.Net.Benchmarks --kernel-ab dot|outer|pack|rows|edge [step pairs]</c>: a kernel against the one it replaced, the
/// switch alternating in one process. <c>dot</c>: the dot kernel's 2×8 tile against pairs of 2×4 tiles
/// (<see cref="GemmDotKernel.UseNarrowTilesForTests"/>) on u = x·Aᵀ; <c>outer</c>: the outer kernel's register strips
/// against its sweeps (<see cref="GemmOuterKernel.UseSweepsForTests"/>) on dA = duᵀ·x; <c>pack</c>: 12-row A panels
/// transposed 8 columns at a time against 4×4 blocks (<see cref="GemmPacking.UseFourRowBlocksForTests"/>) on
/// x·Wᵀ with W 512 × K; <c>rows</c>: row panels (a transposed weight's 32-row B panels, attention's key blocks) packed 8 rows
/// at a time against 4×4 blocks alone (<see cref="GemmPacking.UseFourRowGroupsForTests"/>), on the same x·Wᵀ; <c>edge</c>:
/// the last row panel's 4 rows (1,024 = 85·12 + 4) in 4 rows of accumulators against the full 12-row tile and a scratch
/// copy (<see cref="GemmMicroKernel512.UseFullTileForEdgeRowsForTests"/>), on the same x·Wᵀ. M = 1,024 tokens, rank 8, K = 512 and 1,376 features, 1 and 2 threads (350 round pairs of 4
/// products after 50 warm ones), then whole <c>bench train</c> LoRA steps in alternating pairs. Prints the medians of
/// the pairs' time ratios, old / new.
/// </summary>
internal static class KernelSwitchAb
{
    private const int M = BenchTrainShape.Batch * BenchTrainShape.Seq, R = BenchTrainShape.Rank;

    public static void Run(string[] args)
    {
        string which = args.Length > 1 ? args[1] : "dot";
        int pairs = args.Length > 2 ? int.Parse(args[2]) : 20;
        if (which is not ("dot" or "outer" or "pack" or "rows" or "edge")) throw new ArgumentException("usage: --kernel-ab dot|outer|pack|rows|edge [step pairs]");
        bool supported = which switch
        {
            "dot" => GemmDotKernel.WideTileIsSupported,
            "outer" => GemmOuterKernel.StripsAreSupported,
            "rows" => GemmPacking.UsesEightRowTransposes && Gemm.BestPath == GemmKernelPath.Vector512,
            "edge" => Gemm.BestPath == GemmKernelPath.Vector512,
            _ => GemmPacking.UsesTwelveRowTransposes && Gemm.BestPath == GemmKernelPath.Vector512,
        };
        if (!supported) throw new PlatformNotSupportedException($"The new {which} kernel does not run here (it needs AVX-512F).");
        void UseOld(bool old)
        {
            if (which == "outer") GemmOuterKernel.UseSweepsForTests = old;
            else if (which == "dot") GemmDotKernel.UseNarrowTilesForTests = old;
            else if (which == "rows") GemmPacking.UseFourRowGroupsForTests = old;
            else if (which == "edge") GemmMicroKernel512.UseFullTileForEdgeRowsForTests = old;
            else GemmPacking.UseFourRowBlocksForTests = old;
        }
        var random = new TensorRandom(3);
        foreach (int k in new[] { 512, 1376 })
        {
            var x = new float[M * k];
            var small = new float[Math.Max(M, k) * R];   // A (R, K) for dot; du (M, R) for outer
            var weight = new float[512 * k];               // W (512, K) for pack
            var result = new float[M * Math.Max(k, 512)];
            for (int i = 0; i < x.Length; i++) x[i] = random.NextSingle();
            for (int i = 0; i < small.Length; i++) small[i] = random.NextSingle();
            for (int i = 0; i < weight.Length; i++) weight[i] = random.NextSingle();
            foreach (int threads in new[] { 1, 2 })
            {
                void Product()
                {
                    if (which == "outer") Gemm.Multiply(small, true, x, false, result, R, k, M, false, GemmKernelPath.Auto, threads); // dA = duᵀ·x
                    else if (which == "dot") Gemm.Multiply(x, false, small.AsSpan(0, R * k), true, result, M, R, k, false, GemmKernelPath.Auto, threads); // u = x·Aᵀ
                    else Gemm.Multiply(x, false, weight, true, result, M, 512, k, false, GemmKernelPath.Auto, threads); // x·Wᵀ
                }
                var ratios = new List<double>();
                double newSeconds = 0, oldSeconds = 0;
                for (int round = 0; round < 400; round++)
                {
                    double fresh = 0, old = 0;
                    for (int side = 0; side < 2; side++)
                    {
                        bool useOld = (side == 0) == (round % 2 == 0);
                        UseOld(useOld);
                        var watch = Stopwatch.StartNew();
                        for (int rep = 0; rep < 4; rep++) Product();
                        double t = watch.Elapsed.TotalSeconds;
                        if (useOld) old = t; else fresh = t;
                    }
                    UseOld(false);
                    if (round < 50) continue;
                    ratios.Add(old / fresh);
                    newSeconds += fresh;
                    oldSeconds += old;
                }
                ratios.Sort();
                double flops = 2.0 * M * (which is "pack" or "rows" or "edge" ? 512 : R) * k * 4 * ratios.Count;
                Console.WriteLine($"{which switch { "outer" => "dA = duᵀ·x", "dot" => "u = x·Aᵀ", _ => "x·Wᵀ, W 512 × K" }}, K {k}, {threads} threads: old/new median {ratios[ratios.Count / 2]:F3}; "
                    + $"new {flops / newSeconds / 1e9:F1} GFLOP/s, old {flops / oldSeconds / 1e9:F1}");
            }
        }

        var step = new BenchTrainStep();
        double Step(bool old)
        {
            UseOld(old);
            try
            {
                return step.Run();
            }
            finally
            {
                UseOld(false);
            }
        }
        for (int i = 0; i < 3; i++) { Step(false); Step(true); }
        var stepRatios = new List<double>();
        for (int p = 0; p < pairs; p++)
        {
            double fresh, old;
            if (p % 2 == 0) { fresh = Step(false); old = Step(true); } else { old = Step(true); fresh = Step(false); }
            stepRatios.Add(old / fresh);
        }
        stepRatios.Sort();
        Console.WriteLine($"LoRA steps: old/new median {stepRatios[pairs / 2]:F3} (min {stepRatios[0]:F3}, max {stepRatios[^1]:F3}) over {pairs} pairs");
    }
}
