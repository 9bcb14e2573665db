using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// <c>Peft.Net.Benchmarks --training-attention [threads] [rounds] [generic|narrow]</c>: the causal attention of one
/// <c>bench train</c> step, forward and backward in each of its 4 layers (4 sequences of 256, 8 heads of 64, time before
/// heads as the projections give it), with the register tiles off (<see cref="AttentionKernels.UseGenericTilesForTests"/>:
/// the generic <c>IFloatVector</c> tiles) and on in alternate rounds of one process, at the widest width this CPU runs;
/// with <c>narrow</c>, the two-register tiles (<see cref="AttentionKernels.UseNarrowTilesForTests"/>) against the
/// four-register ones of AVX-512 instead.
/// Prints each side's median ms a step and GFLOP/s (the products the causal mask needs: S = Q·Kᵀ and P·V forward, S,
/// dP, dV, dQ, dK backward, 2·T·(T + 1)/2·D each a head), and the median of the rounds' off/on ratios.
/// </summary>
internal static class TrainingAttentionTiming
{
    public static void Run(string[] args)
    {
        int threads = args.Length > 1 ? int.Parse(args[1]) : 2;
        int rounds = args.Length > 2 ? int.Parse(args[2]) : 100;
        bool narrow = args.Length > 3 && args[3] == "narrow";
        if (threads < 1 || rounds < 4 || args.Length > 3 && args[3] is not ("generic" or "narrow"))
            throw new ArgumentException("usage: --training-attention [threads ≥ 1] [rounds ≥ 4] [generic|narrow]");
        if (narrow && !AttentionKernels.WideTilesRun) throw new PlatformNotSupportedException("The four-register attention tiles need AVX-512F.");
        string[] sides = narrow ? ["two-register tiles ", "four-register tiles"] : ["generic tiles ", "register tiles"];
        var config = BenchTrainShape.Config();
        int heads = config.NumAttentionHeads, kvHeads = config.NumKeyValueHeads ?? heads, depth = config.HiddenSize / heads;
        int layers = config.NumHiddenLayers, batch = 4, length = 256;
        var shape = new AttentionShape(batch, heads, kvHeads, length, length, depth, true, 1f / MathF.Sqrt(depth),
            AttentionLayout.BatchTimeHeads);
        var random = new TensorRandom(11);
        float[] Random(int n) => Tensor.Normal([n], 0, 1, random).ToArray();
        var data = Enumerable.Range(0, layers).Select(_ => (Q: Random(shape.QueryCount), K: Random(shape.KeyCount),
            V: Random(shape.KeyCount), DOutput: Random(shape.QueryCount),
            Dq: new float[shape.QueryCount], Dk: new float[shape.KeyCount], Dv: new float[shape.KeyCount])).ToArray();
        var output = new float[shape.QueryCount];
        var logSumExp = new float[shape.RowCount];
        double flops = 7.0 * layers * batch * heads * 2.0 * length * (length + 1) / 2 * depth;
        var millis = new[] { new List<double>(), new List<double>() };
        var forwardMillis = new[] { new List<double>(), new List<double>() };
        try
        {
            for (int round = 0; round < rounds + 2; round++)
            {
                int side = round % 2;
                if (narrow) AttentionKernels.UseNarrowTilesForTests = side == 0;
                else AttentionKernels.UseGenericTilesForTests = side == 0;
                foreach (var layer in data) // the backward pass adds into the gradients: zero them, outside the timing
                {
                    Array.Clear(layer.Dq);
                    Array.Clear(layer.Dk);
                    Array.Clear(layer.Dv);
                }
                var watch = Stopwatch.StartNew();
                long forwardTicks = 0;
                foreach (var (q, k, v, dOutput, dq, dk, dv) in data)
                {
                    long start = Stopwatch.GetTimestamp();
                    AttentionKernels.Forward(q, k, v, output, logSumExp, shape, SimdWidth.Auto, threads);
                    forwardTicks += Stopwatch.GetTimestamp() - start;
                    AttentionKernels.Backward(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape, SimdWidth.Auto, threads);
                }
                if (round < 2) continue;
                millis[side].Add(watch.Elapsed.TotalMilliseconds);
                forwardMillis[side].Add(forwardTicks * 1e3 / Stopwatch.Frequency);
            }
        }
        finally
        {
            AttentionKernels.UseGenericTilesForTests = false;
            AttentionKernels.UseNarrowTilesForTests = false;
        }
        Console.WriteLine($"training-step attention: {layers} layers, {batch} × {length} tokens, {heads} heads ({kvHeads} kv) of {depth}, "
            + $"causal, forward + backward, {threads} threads, width {AttentionKernels.ResolveWidth(SimdWidth.Auto, depth)}, "
            + $"{rounds / 2} rounds a side, alternating:");
        for (int side = 0; side < 2; side++)
        {
            double median = RoundStatistics.Median(millis[side]);
            double forward = RoundStatistics.Median(forwardMillis[side]);
            Console.WriteLine($"  {sides[side]}: median {median:F2} ms a step, {flops / (median * 1e6):F1} GFLOP/s"
                + $" (forward {forward:F2} ms, {2 * flops / 7 / (forward * 1e6):F1} GFLOP/s)");
        }
        Console.WriteLine($"  {sides[0].Trim()} / {sides[1].Trim()}, round pair by pair: {RoundStatistics.PairRatios(millis[0], millis[1])}");
    }
}
