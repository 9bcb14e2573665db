using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchSharpPeer;

/// <summary>
/// The TorchSharp peer of <c>peft bench gemm</c>: C[m, n] = op(A)·op(B) in float32 on LibTorch's CPU GEMM (MKL), with
/// <c>--trans-a</c> (A stored (k, m), used as a transposed view) and <c>--trans-b</c> (B stored (n, k): a linear layer's
/// x·Wᵀ). C is written in place by <c>c.addmm_(a, b, beta: 0)</c> — TorchSharp has no <c>mm(out: c)</c> — so, as in
/// <c>peft bench gemm</c> and gemm_peer.py's <c>torch.mm(out=c)</c>, no run allocates. Same timing protocol: warm-up
/// (at least 3 runs and 0.3 s), then as many runs as fit in about two seconds (5 … 1000), best and median.
/// </summary>
internal static class GemmPeer
{
    public static int Run(PeerOptions o)
    {
        manual_seed(0);
        using var scope = NewDisposeScope();
        var a = o.TransA ? (rand(o.K, o.M) * 2 - 1).t() : rand(o.M, o.K) * 2 - 1;   // op(A): (m, k)
        var b = o.TransB ? (rand(o.N, o.K) * 2 - 1).t() : rand(o.K, o.N) * 2 - 1;   // op(B): (k, n)
        var c = zeros(o.M, o.N);                                                  // (m, n)
        using var noGrad = no_grad();
        void RunOnce() => c.addmm_(a, b, beta: 0, alpha: 1);

        var clock = Stopwatch.StartNew();
        int warmUps = 0;
        while (warmUps < 3 || clock.Elapsed.TotalMilliseconds < 300)
        {
            RunOnce();
            warmUps++;
        }
        double warmMs = clock.Elapsed.TotalMilliseconds / warmUps;
        int repeats = o.Repeats is > 0 ? o.Repeats.Value : (int)Math.Clamp(2000 / Math.Max(warmMs, 1e-3), 5, 1000);
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            RunOnce();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        double best = times[0], median = times[repeats / 2], flops = 2.0 * o.M * o.N * o.K;
        if (!float.IsFinite(c.sum().item<float>()))
        {
            Console.Error.WriteLine("gemm: the product is not finite");
            return 1;
        }
        if (o.Json)
        {
            using var writer = new Utf8JsonWriter(Console.OpenStandardOutput());
            writer.WriteStartObject();
            writer.WriteString("benchmark", "gemm");
            writer.WriteString("peer", $"TorchSharp {typeof(torch).Assembly.GetName().Version} LibTorch {__version__} addmm_");
            writer.WriteNumber("m", o.M);
            writer.WriteNumber("n", o.N);
            writer.WriteNumber("k", o.K);
            writer.WriteBoolean("trans_a", o.TransA);
            writer.WriteBoolean("trans_b", o.TransB);
            writer.WriteNumber("threads", get_num_threads());
            writer.WriteNumber("runs", repeats);
            writer.WriteNumber("ms", Math.Round(best, 4));
            writer.WriteNumber("ms_median", Math.Round(median, 4));
            writer.WriteNumber("gflops", Math.Round(flops / (best * 1e6), 2));
            writer.WriteNumber("gflops_median", Math.Round(flops / (median * 1e6), 2));
            writer.WriteEndObject();
            writer.Flush();
            Console.WriteLine();
        }
        else
        {
            Console.WriteLine($"gemm m={o.M} n={o.N} k={o.K}{(o.TransA ? " Aᵀ" : "")}{(o.TransB ? " Bᵀ" : "")}  TorchSharp/LibTorch  threads {get_num_threads()}  runs {repeats}");
            Console.WriteLine($"best   {best,9:F3} ms  {flops / (best * 1e6),8:F1} GFLOP/s");
            Console.WriteLine($"median {median,9:F3} ms  {flops / (median * 1e6),8:F1} GFLOP/s");
        }
        return 0;
    }
}
