using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Lora;

namespace Peft.Net.Benchmarks;

/// <summary>
/// <c>Peft.Net.Benchmarks --pissa [N] [r] [niter]</c>: times a whole PiSSA initialisation (SVD, A and B, residual
/// base) of an [N, N] float32 linear layer — "pissa_niter_K" and the exact "pissa" — and prints the seconds.
/// </summary>
internal static class PissaTiming
{
    public static void Run(string[] args)
    {
        int size = args.Length > 1 ? int.Parse(args[1]) : 4096;
        int rank = args.Length > 2 ? int.Parse(args[2]) : 16;
        int niter = args.Length > 3 ? int.Parse(args[3]) : 4;
        var weight = PissaWeights.Decaying(size, size, seed: 7);
        Console.WriteLine($"PiSSA init of a {size}×{size} float32 layer, r = {rank}, {ComputeSettings.ThreadCount} threads, {Environment.ProcessorCount} cores");
        var deltas = new List<float[]>();
        foreach (var (label, niterOption) in new[] { ($"pissa_niter_{niter}", (int?)niter), ("pissa", null) })
        {
            LoraLinear? lora = null;
            for (int round = 1; round <= 3; round++)
            {
                var layer = new Linear(size, size, bias: false, random: new TensorRandom(0));
                weight.CopyTo(layer.Weight.AsSpan());
                lora = new LoraLinear(layer);
                var options = new LoraAdapterOptions(Rank: rank, Alpha: rank, Init: LoraInit.PiSSA) { PissaNiter = niterOption };
                var watch = Stopwatch.StartNew();
                lora.AddAdapter("default", options, new TensorRandom(1));
                watch.Stop();
                Console.WriteLine($"{label,-16} round {round}: {watch.Elapsed.TotalSeconds:F3} s");
            }
            deltas.Add(lora!.GetDeltaWeight("default").ToArray());
        }
        double difference = 0, norm = 0;
        for (int i = 0; i < deltas[1].Length; i++)
        {
            double d = deltas[0][i] - deltas[1][i];
            difference += d * d;
            norm += (double)deltas[1][i] * deltas[1][i];
        }
        Console.WriteLine($"‖ΔW(pissa_niter_{niter}) − ΔW(pissa)‖_F / ‖ΔW(pissa)‖_F = {Math.Sqrt(difference / norm):E2}");
    }
}
