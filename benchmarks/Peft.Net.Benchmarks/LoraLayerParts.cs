using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>
/// <c>Peft.Net.Benchmarks --lora-layer-parts [rounds]</c>: the products of one LoRA layer's training step at each
/// <c>bench train</c> shape (M = 1,024 tokens, rank 8), each timed on its own, as GFLOP/s and as milliseconds a step
/// (times the layer count of that shape): the fused forward x·Wᵀ + u·(sB)ᵀ, the rank-8 products u = x·Aᵀ,
/// du = g·(sB), dA = duᵀ·x and dBᵀ = gᵀ·u, the fused input gradient g·W + du·A, and the plain x·Wᵀ beside them.
/// Every method runs at its final JIT tier first; then each round runs every part once, in turn, so each part reads
/// operands another part may have pushed out of the caches, as in a step. Medians of the rounds.
/// </summary>
internal static class LoraLayerParts
{
    private const int M = BenchTrainShape.Batch * BenchTrainShape.Seq, R = BenchTrainShape.Rank;

    public static void Run(string[] args)
    {
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 30;
        var config = BenchTrainShape.Config();
        int d = config.HiddenSize, f = config.IntermediateSize, layers = config.NumHiddenLayers;
        Console.WriteLine($"LoRA layer products at M = {M}, rank {R}, {ComputeSettings.ThreadCount} threads, kernel {Gemm.BestPath}; "
            + $"median of {rounds} rounds; ms a step = ms × layers of that shape");
        Console.WriteLine($"{"shape (N × K) × layers",-24} {"part",-22} {"GFLOP/s",9} {"ms a step",10}");
        var shapes = new[] { (d, d, 4 * layers), (f, d, 2 * layers), (d, f, layers) };
        foreach (var (n, k, count) in shapes) Shape(n, k, count, 10, print: false); // every method at its final tier first
        double total = 0;
        foreach (var (n, k, count) in shapes) total += Shape(n, k, count, rounds, print: true);
        Console.WriteLine($"all parts: {total:F2} ms a step");
    }

    private static double Shape(int n, int k, int count, int rounds, bool print)
    {
        var random = new TensorRandom(7);
        float[] Matrix(int rows, int columns)
        {
            var values = new float[rows * columns];
            for (int i = 0; i < values.Length; i++) values[i] = random.NextSingle() - 0.5f;
            return values;
        }
        float[] x = Matrix(M, k), w = Matrix(n, k), a = Matrix(R, k), aT = Matrix(k, R), sB = Matrix(n, R), g = Matrix(M, n);
        float[] u = Matrix(M, R), du = Matrix(M, R), y = new float[M * n], gx = new float[M * k], ga = new float[R * k], gu = new float[n * R];
        var parts = new (string Name, double Flops, Action Run)[]
        {
            ("x·Wᵀ alone", 2.0 * M * n * k, () => Gemm.Multiply(x, false, w, true, y, M, n, k, accumulate: false)),
            ("x·Wᵀ + u·sBᵀ", 2.0 * M * n * (k + R), () => Gemm.MultiplyPlusLowRank(x, w, u, sB, y, M, n, k, R)),
            ("u = x·Aᵀ", 2.0 * M * R * k, () => Gemm.Multiply(x, false, a, true, u, M, R, k, accumulate: false)),
            ("dB = gᵀ·u", 2.0 * M * R * n, () => Gemm.Multiply(g, true, u, false, gu, n, R, M, accumulate: false)),
            ("du = g·sB", 2.0 * M * R * n, () => Gemm.Multiply(g, false, sB, false, du, M, R, n, accumulate: false)),
            ("dA = duᵀ·x", 2.0 * M * R * k, () => Gemm.Multiply(du, true, x, false, ga, R, k, M, accumulate: false)),
            ("g·W + du·A", 2.0 * M * k * (n + R), () => Gemm.MultiplyPlusLowRank(g, false, w, du, aT, gx, M, k, n, R, accumulate: false)),
        };
        foreach (var part in parts)
            for (int warm = 0; warm < 3; warm++) part.Run();
        var seconds = new double[parts.Length][];
        for (int i = 0; i < parts.Length; i++) seconds[i] = new double[rounds];
        for (int round = 0; round < rounds; round++) // round-robin: every part sees the same minutes of the machine
            for (int i = 0; i < parts.Length; i++)
            {
                var watch = Stopwatch.StartNew();
                parts[i].Run();
                seconds[i][round] = watch.Elapsed.TotalSeconds;
            }
        double sum = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var (name, flops, _) = parts[i];
            Array.Sort(seconds[i]);
            double median = seconds[i][rounds / 2];
            double perStep = median * 1e3 * count;
            if (name != "x·Wᵀ alone") sum += perStep;
            if (print) Console.WriteLine($"{$"{n} × {k} × {count}",-24} {name,-22} {flops / median / 1e9,9:F1} {perStep,10:F2}");
        }
        return sum;
    }
}
