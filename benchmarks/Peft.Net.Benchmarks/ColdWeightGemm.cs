using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// <c>Peft.Net.Benchmarks --cold-weights [rows] [threads] [rounds] [prefetch|just-in-time]</c>: x·Wᵀ over the 28
/// decoder weights of the <c>bench train</c> model (4 layers × q, k, v, o 512×512, gate and up 1376×512, down
/// 512×1376: 51 MB, more than this machine's 32 MB L3, so every weight comes cold from memory, as in a prefill or a
/// training step's forward), with one switch off and on in alternate rounds of one process: the transposed-B
/// packing's next-panel prefetch (<see cref="GemmPacking.PrefetchNextPanel"/>, the default) or the panel-by-panel
/// packing of row blocks of at most MC rows (<see cref="GemmPacking.PackPanelsJustInTime"/>). Prints each side's
/// median GFLOP/s and the median of the rounds' on/off ratios. Rows 128 is a 128-token prefill, 1024 the step's
/// 4 × 256 tokens.
/// </summary>
internal static class ColdWeightGemm
{
    public static void Run(string[] args)
    {
        int m = args.Length > 1 ? int.Parse(args[1]) : 128;
        int threads = args.Length > 2 ? int.Parse(args[2]) : 1;
        int rounds = args.Length > 3 ? int.Parse(args[3]) : 40;
        string what = args.Length > 4 ? args[4] : "prefetch";
        if (m < 1 || threads < 1 || rounds < 4 || what is not ("prefetch" or "just-in-time"))
            throw new ArgumentException("usage: --cold-weights [rows ≥ 1] [threads ≥ 1] [rounds ≥ 4] [prefetch|just-in-time]");
        string name = what == "prefetch" ? "next-panel prefetch" : "panel-by-panel packing";
        var config = BenchTrainShape.Config();
        int dim = config.HiddenSize, ffn = config.IntermediateSize;
        var random = new TensorRandom(3);
        var weights = new List<(int N, int K, float[] W)>();
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
            foreach (var (n, k) in new[] { (dim, dim), (dim, dim), (dim, dim), (dim, dim), (ffn, dim), (ffn, dim), (dim, ffn) })
                weights.Add((n, k, Tensor.Uniform([n * k], -0.5f, 0.5f, random).ToArray()));
        var x = Tensor.Uniform([m * ffn], -0.5f, 0.5f, random).ToArray();
        var c = new float[m * ffn];
        double flop = weights.Sum(w => 2.0 * m * w.N * w.K);
        var rates = new[] { new List<double>(), new List<double>() };
        try
        {
            for (int round = 0; round < rounds + 2; round++)
            {
                int side = round % 2;
                if (what == "prefetch") GemmPacking.PrefetchNextPanel = side == 1;
                else GemmPacking.PackPanelsJustInTime = side == 1;
                var watch = Stopwatch.StartNew();
                foreach (var (n, k, w) in weights)
                    Gemm.Multiply(x.AsSpan(0, m * k), false, w, true, c.AsSpan(0, m * n), m, n, k, false, GemmKernelPath.Auto, threads);
                if (round >= 2) rates[side].Add(flop / watch.Elapsed.TotalSeconds / 1e9);
            }
        }
        finally
        {
            GemmPacking.PrefetchNextPanel = true;
            GemmPacking.PackPanelsJustInTime = true;
        }
        Console.WriteLine($"x·Wᵀ over the bench train model's {weights.Count} weights ({weights.Sum(w => 4L * w.N * w.K) / 1e6:F0} MB), {m} rows, "
            + $"{threads} threads, kernel {Gemm.BestPath}, {rounds / 2} rounds a side, alternating:");
        for (int side = 0; side < 2; side++)
            Console.WriteLine($"  {name} {(side == 1 ? "on " : "off")}: median {RoundStatistics.Median(rates[side]):F1} GFLOP/s");
        Console.WriteLine($"  on / off, round pair by pair: {RoundStatistics.PairRatios(rates[1], rates[0])}");
    }
}
