using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Models;

namespace Peft.Net.Benchmarks;

/// <summary>
/// <c>Peft.Net.Benchmarks --dot-tile-ab [step pairs]</c>: the dot kernel's 2×8 tile (AVX-512) against pairs of 2×4
/// tiles (<see cref="GemmDotKernel.UseNarrowTilesForTests"/>), the switch alternating in one process: u = x·Aᵀ at
/// M = 1,024, rank 8, K = 512 and 1,376 on 1 and 2 threads (350 round pairs of 4 products after 50 warm ones), then
/// whole <c>bench train</c> LoRA steps in alternating pairs. Prints the medians of the pairs' time ratios, narrow / wide.
/// </summary>
internal static class DotTileAb
{
    public static void Run(string[] args)
    {
        const int M = 1024, R = 8;
        var random = new TensorRandom(3);
        if (!GemmDotKernel.WideTileIsSupported) throw new PlatformNotSupportedException("The 2×8 dot tile needs AVX-512F.");
        foreach (int k in new[] { 512, 1376 })
        {
            var x = new float[M * k]; var a = new float[R * k]; var u = new float[M * R];
            for (int i = 0; i < x.Length; i++) x[i] = random.NextSingle();
            for (int i = 0; i < a.Length; i++) a[i] = random.NextSingle();
            foreach (int threads in new[] { 1, 2 })
            {
                var ratios = new List<double>(); double tw = 0, tn = 0;
                for (int round = 0; round < 400; round++)
                {
                    bool wideFirst = round % 2 == 0;
                    double w = 0, n = 0;
                    for (int side = 0; side < 2; side++)
                    {
                        bool wide = (side == 0) == wideFirst;
                        GemmDotKernel.UseNarrowTilesForTests = !wide;
                        var watch = Stopwatch.StartNew();
                        for (int rep = 0; rep < 4; rep++) Gemm.Multiply(x, false, a, true, u, M, R, k, false, GemmKernelPath.Auto, threads);
                        double t = watch.Elapsed.TotalSeconds;
                        if (wide) w = t; else n = t;
                    }
                    GemmDotKernel.UseNarrowTilesForTests = false;
                    if (round >= 50) { ratios.Add(n / w); tw += w; tn += n; }
                }
                ratios.Sort();
                Console.WriteLine($"K {k} threads {threads}: narrow/wide median {ratios[ratios.Count / 2]:F3}; wide {2.0 * M * R * k * 4 * ratios.Count / tw / 1e9:F1} GFLOP/s, narrow {2.0 * M * R * k * 4 * ratios.Count / tn / 1e9:F1}");
            }
        }
        // whole steps, alternating
        var config = BenchTrainShape.Config();
        var model = new LlamaForCausalLM(config, new TensorRandom(0));
        model.ApplyLora(rank: R, alpha: BenchTrainShape.Alpha, targetRegex: "all-linear");
        model.Train();
        var optimizer = new AdamW(model.TrainableParameters(), learningRate: 2e-4, weightDecay: 0.01);
        var ids = new int[M];
        for (int i = 0; i < ids.Length; i++) ids[i] = random.NextInt(config.VocabSize);
        double Step(bool wide)
        {
            GemmDotKernel.UseNarrowTilesForTests = !wide;
            var watch = Stopwatch.StartNew();
            model.Loss(ids, ids, 4, 256).Backward();
            optimizer.Step();
            optimizer.ZeroGrad();
            GemmDotKernel.UseNarrowTilesForTests = false;
            return watch.Elapsed.TotalSeconds;
        }
        for (int i = 0; i < 3; i++) { Step(true); Step(false); }
        int pairs = args.Length > 1 ? int.Parse(args[1]) : 20;
        var stepRatios = new List<double>();
        for (int p = 0; p < pairs; p++)
        {
            double w, n;
            if (p % 2 == 0) { w = Step(true); n = Step(false); } else { n = Step(false); w = Step(true); }
            stepRatios.Add(n / w);
        }
        stepRatios.Sort();
        Console.WriteLine($"steps: narrow/wide median {stepRatios[pairs / 2]:F3} (min {stepRatios[0]:F3}, max {stepRatios[^1]:F3}) over {pairs} pairs");
    }
}
