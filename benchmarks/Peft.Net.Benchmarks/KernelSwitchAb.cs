using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Models;

namespace Peft.Net.Benchmarks;

/// <summary>
/// <c>Peft.Net.Benchmarks --kernel-ab dot|outer [step pairs]</c>: an AVX-512 kernel of the rank-8 LoRA products
/// against the one it replaced, the switch alternating in one process. <c>dot</c>: the dot kernel's 2×8 tile against
/// pairs of 2×4 tiles (<see cref="GemmDotKernel.UseNarrowTilesForTests"/>) on u = x·Aᵀ; <c>outer</c>: the outer
/// kernel's register strips against its sweeps (<see cref="GemmOuterKernel.UseSweepsForTests"/>) on dA = duᵀ·x.
/// M = 1,024 tokens, rank 8, K = 512 and 1,376 features, 1 and 2 threads (350 round pairs of 4 products after 50 warm
/// ones), then whole <c>bench train</c> LoRA steps in alternating pairs. Prints the medians of the pairs' time ratios,
/// old / new.
/// </summary>
internal static class KernelSwitchAb
{
    private const int M = BenchTrainShape.Batch * BenchTrainShape.Seq, R = BenchTrainShape.Rank;

    public static void Run(string[] args)
    {
        string which = args.Length > 1 ? args[1] : "dot";
        int pairs = args.Length > 2 ? int.Parse(args[2]) : 20;
        if (which is not ("dot" or "outer")) throw new ArgumentException("usage: --kernel-ab dot|outer [step pairs]");
        bool outer = which == "outer";
        if (!(outer ? GemmOuterKernel.StripsAreSupported : GemmDotKernel.WideTileIsSupported))
            throw new PlatformNotSupportedException($"The new {which} kernel needs AVX-512F.");
        void UseOld(bool old)
        {
            if (outer) GemmOuterKernel.UseSweepsForTests = old;
            else GemmDotKernel.UseNarrowTilesForTests = old;
        }
        var random = new TensorRandom(3);
        foreach (int k in new[] { 512, 1376 })
        {
            var x = new float[M * k];
            var small = new float[Math.Max(M, k) * R];   // A (R, K) for dot; du (M, R) for outer
            var result = new float[M * k];
            for (int i = 0; i < x.Length; i++) x[i] = random.NextSingle();
            for (int i = 0; i < small.Length; i++) small[i] = random.NextSingle();
            foreach (int threads in new[] { 1, 2 })
            {
                void Product()
                {
                    if (outer) Gemm.Multiply(small, true, x, false, result, R, k, M, false, GemmKernelPath.Auto, threads); // dA = duᵀ·x
                    else Gemm.Multiply(x, false, small.AsSpan(0, R * k), true, result, M, R, k, false, GemmKernelPath.Auto, threads); // u = x·Aᵀ
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
                double flops = 2.0 * M * R * k * 4 * ratios.Count;
                Console.WriteLine($"{(outer ? "dA = duᵀ·x" : "u = x·Aᵀ")}, K {k}, {threads} threads: old/new median {ratios[ratios.Count / 2]:F3}; "
                    + $"new {flops / newSeconds / 1e9:F1} GFLOP/s, old {flops / oldSeconds / 1e9:F1}");
            }
        }

        var config = BenchTrainShape.Config();
        var model = new LlamaForCausalLM(config, new TensorRandom(0));
        model.ApplyLora(rank: R, alpha: BenchTrainShape.Alpha, targetRegex: "all-linear");
        model.Train();
        var optimizer = new AdamW(model.TrainableParameters(), learningRate: 2e-4, weightDecay: 0.01);
        var ids = new int[M];
        for (int i = 0; i < ids.Length; i++) ids[i] = random.NextInt(config.VocabSize);
        double Step(bool old)
        {
            UseOld(old);
            var watch = Stopwatch.StartNew();
            model.Loss(ids, ids, BenchTrainShape.Batch, BenchTrainShape.Seq).Backward();
            optimizer.Step();
            optimizer.ZeroGrad();
            UseOld(false);
            return watch.Elapsed.TotalSeconds;
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
