using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Models;

namespace Peft.Net.Benchmarks;

/// <summary>
/// <c>Peft.Net.Benchmarks --step-vs-gemm [rounds] [method] [sequence length]</c>: issue 17's "a LoRA step at ≥ 80 % of the engine's GEMM
/// throughput at 1024³", with both sides in one process and interleaved round by round: each round times one training
/// step of the <c>bench train</c> default model (forward, backward, AdamW, zero-grad; lora, dora or qlora) and the
/// median of five 1024³ GEMMs (<c>peft bench gemm</c>'s product: both operands row-major), the side that goes first
/// alternating. On a VM whose speed drifts by tens of percent from one minute to the next, both sides of a round's
/// ratio then see the same machine, where separate processes a few seconds apart do not. Prints every round and the
/// median, minimum and maximum of the rounds' ratios; FLOPs per step come from the shapes (<see cref="StepFlops"/>).
/// A sequence length other than 256 keeps the step's 1,024 tokens (batch = 1024 / length): at 1,024, causal
/// attention is about a fifth of the FLOPs instead of 6 %.
/// </summary>
internal static class StepVsGemm
{
    private const int Tokens = BenchTrainShape.Batch * BenchTrainShape.Seq, Rank = BenchTrainShape.Rank;
    private const int GemmSize = 1024, GemmRepeats = 5;

    public static void Run(string[] args)
    {
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 20;
        string method = args.Length > 2 ? args[2] : "lora";
        int seq = args.Length > 3 ? int.Parse(args[3]) : BenchTrainShape.Seq;
        if (rounds < 1 || method is not ("lora" or "dora" or "qlora") || seq < 1 || Tokens % seq != 0)
            throw new ArgumentException($"usage: --step-vs-gemm [rounds ≥ 1] [lora|dora|qlora] [sequence length dividing {Tokens}]");
        var step = new BenchTrainStep(method, seq);
        var config = step.Config;
        int batch = step.Batch;
        var random = new TensorRandom(1);
        var a = RandomMatrix(random);
        var b = RandomMatrix(random);
        var c = new float[GemmSize * GemmSize];

        double Step() => step.Run();

        double GemmGflops()
        {
            var rates = new double[GemmRepeats];
            for (int r = 0; r < GemmRepeats; r++)
            {
                var watch = Stopwatch.StartNew();
                Gemm.Multiply(a, false, b, false, c, GemmSize, GemmSize, GemmSize, accumulate: false);
                rates[r] = 2.0 * GemmSize * GemmSize * GemmSize / watch.Elapsed.TotalSeconds / 1e9;
            }
            Array.Sort(rates);
            return rates[GemmRepeats / 2];
        }

        var flops = StepFlops.Of(config, batch, seq, Rank);
        Console.WriteLine($"{method} step of the bench train default model, {batch} × {seq} tokens, against the 1024³ GEMM, one process, {rounds} interleaved rounds, "
            + $"{ComputeSettings.ThreadCount} threads, kernel {Gemm.BestPath}");
        Console.WriteLine($"step FLOPs: {flops.Total / 1e9:F1} G (linear forward {flops.Linear / 1e9:F1}, input gradients {flops.InputGradients / 1e9:F1}, "
            + $"attention {flops.Attention / 1e9:F1}, rank-{Rank} products {flops.LowRank / 1e9:F1})");
        for (int warm = 0; warm < 2; warm++)
        {
            Step();
            GemmGflops();
        }
        var ratios = new double[rounds];
        for (int round = 0; round < rounds; round++)
        {
            double seconds, gemm;
            if (round % 2 == 0)
            {
                seconds = Step();
                gemm = GemmGflops();
            }
            else
            {
                gemm = GemmGflops();
                seconds = Step();
            }
            double stepGflops = flops.Total / seconds / 1e9;
            ratios[round] = stepGflops / gemm;
            Console.WriteLine($"round {round + 1,2}: step {seconds * 1e3,6:F1} ms = {stepGflops,5:F1} GFLOP/s, GEMM {gemm,5:F1} GFLOP/s, ratio {ratios[round]:F3}");
        }
        var sorted = ratios.Order().ToArray();
        double median = rounds % 2 == 1 ? sorted[rounds / 2] : (sorted[rounds / 2 - 1] + sorted[rounds / 2]) / 2;
        Console.WriteLine($"step GFLOP/s ÷ GEMM GFLOP/s: median {median:F3} (min {sorted[0]:F3}, max {sorted[^1]:F3}) over {rounds} rounds; goal ≥ 0.80");
    }

    private static float[] RandomMatrix(TensorRandom random) =>
        Tensor.Uniform([GemmSize, GemmSize], -0.5f, 0.5f, random).ToArray();
}
