using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// <c>Peft.Net.Benchmarks --decode-attention [positions] [threads] [rounds] [cold|warm]</c>: the attention of one
/// decode step in each of the 4 layers of the <c>bench train</c> model (8 heads of 64, one query row each, the KV cache
/// time before heads), with the cache cold as in generation (a 64 MB read between rounds pushes it out, as the 59 MB
/// weight stream of a step does) or warm (no read between rounds: the 4 layers' caches stay in L2 and L3), and
/// <see cref="AttentionKernels.HeadRangeDecode"/> off and on in alternate rounds of one process. With more than one
/// thread the read between rounds also lets the runner's workers fall asleep, so each round pays for waking them.
/// Prints each side's median µs per layer, the rate it read the cache at, and the median of the rounds' off/on ratios.
/// </summary>
internal static class DecodeAttentionTiming
{
    public static void Run(string[] args)
    {
        int positions = args.Length > 1 ? int.Parse(args[1]) : 192;
        int threads = args.Length > 2 ? int.Parse(args[2]) : 1;
        int rounds = args.Length > 3 ? int.Parse(args[3]) : 200;
        string cache = args.Length > 4 ? args[4] : "cold";
        if (positions < 1 || threads < 1 || rounds < 4 || cache is not ("cold" or "warm"))
            throw new ArgumentException("usage: --decode-attention [positions ≥ 1] [threads ≥ 1] [rounds ≥ 4] [cold|warm]");
        var config = BenchTrainShape.Config();
        int heads = config.NumAttentionHeads, kvHeads = config.NumKeyValueHeads ?? heads, depth = config.HiddenSize / heads;
        int layers = config.NumHiddenLayers;
        var shape = new AttentionShape(1, heads, kvHeads, 1, positions, depth, true, 1f / MathF.Sqrt(depth),
            AttentionLayout.BatchTimeHeads);
        var random = new TensorRandom(7);
        float[] Random(int n) => Tensor.Normal([n], 0, 1, random).ToArray();
        var caches = Enumerable.Range(0, layers)
            .Select(_ => (Q: Random(shape.QueryCount), K: Random(shape.KeyCount), V: Random(shape.KeyCount))).ToArray();
        var output = new float[shape.QueryCount];
        var logSumExp = new float[shape.RowCount];
        var evict = Random(16 << 20); // 64 MB, twice this machine's L3
        double cacheBytes = 2.0 * layers * shape.KeyCount * sizeof(float);
        var micros = new[] { new List<double>(), new List<double>() };
        float sink = 0;
        try
        {
            for (int round = 0; round < rounds + 2; round++)
            {
                int side = round % 2;
                AttentionKernels.HeadRangeDecode = side == 1;
                if (cache == "cold") sink += SumOf(evict);
                var watch = Stopwatch.StartNew();
                foreach (var (q, k, v) in caches)
                    AttentionKernels.Forward(q, k, v, output, logSumExp, shape, SimdWidth.Auto, threads);
                if (round >= 2) micros[side].Add(watch.Elapsed.TotalMicroseconds / layers);
            }
        }
        finally
        {
            AttentionKernels.HeadRangeDecode = true;
        }
        Console.WriteLine($"decode-step attention over a {cache} KV cache: {layers} layers × {heads} heads of {depth}, {positions} positions "
            + $"({cacheBytes / layers / 1e3:F0} KB of keys and values a layer), {threads} threads, width "
            + $"{AttentionKernels.ResolveWidth(SimdWidth.Auto, depth)}, {rounds / 2} rounds a side, alternating (sink {sink:E1}):");
        for (int side = 0; side < 2; side++)
        {
            double median = RoundStatistics.Median(micros[side]);
            Console.WriteLine($"  {(side == 1 ? "head ranges" : "per head   ")}: median {median:F1} µs a layer, "
                + $"{cacheBytes / layers / (median * 1e3):F1} GB/s of cache");
        }
        Console.WriteLine($"  per head / head ranges, round pair by pair: {RoundStatistics.PairRatios(micros[0], micros[1])}");
    }

    private static float SumOf(float[] values) => System.Numerics.Tensors.TensorPrimitives.Sum(values);
}
