using System.CommandLine;
using Peft.Net.Cli.Infrastructure;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// `peft bench gemm [--m 1024 --n 1024 --k 1024] [--threads N] [--json]`: times the float32 GEMM C = op(A)·op(B)
/// (warm-up, then repeated runs) and reports the best and median GFLOP/s (2·m·n·k flops per run).
/// </summary>
internal static class BenchGemmCommand
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);

    public static Command Create()
    {
        var m = new Option<int>("--m") { DefaultValueFactory = _ => 1024, Description = "Rows of op(A) and C." };
        var n = new Option<int>("--n") { DefaultValueFactory = _ => 1024, Description = "Columns of op(B) and C." };
        var k = new Option<int>("--k") { DefaultValueFactory = _ => 1024, Description = "Inner dimension." };
        var threads = new Option<int>("--threads")
        {
            DefaultValueFactory = _ => 0,
            Description = "Threads to use (0: the PEFT_NUM_THREADS environment variable, else every core).",
        };
        var transA = new Option<bool>("--trans-a") { Description = "Store A as (k, m) and multiply by its transpose." };
        var transB = new Option<bool>("--trans-b") { Description = "Store B as (n, k) and multiply by its transpose (a linear layer's x·Wᵀ)." };
        var repeats = new Option<int>("--repeats")
        {
            DefaultValueFactory = _ => 0,
            Description = "Timed runs (0: as many as fit in about two seconds, at least 5).",
        };
        var kernel = new Option<string>("--kernel")
        {
            DefaultValueFactory = _ => "auto",
            Description = "Micro-kernel: auto, avx512, avx2, vector128 or scalar.",
        };
        kernel.AcceptOnlyFromAmong("auto", "avx512", "avx2", "vector128", "scalar");
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };

        var command = new Command("gemm", "Measure the float32 matrix product C = A·B in GFLOP/s.")
        {
            m, n, k, threads, transA, transB, repeats, kernel, json,
        };
        command.SetCliAction((parseResult, console) =>
        {
            var output = console.Out;
            int mv = parseResult.GetValue(m), nv = parseResult.GetValue(n), kv = parseResult.GetValue(k);
            int threadCount = parseResult.GetValue(threads), repeatCount = parseResult.GetValue(repeats);
            if (mv <= 0 || nv <= 0 || kv <= 0 || (long)mv * kv > Array.MaxLength || (long)kv * nv > Array.MaxLength
                || (long)mv * nv > Array.MaxLength)
                throw new CliUserException($"bench gemm: sizes must be positive and each matrix below {Array.MaxLength} elements; got m={mv}, n={nv}, k={kv}.");
            if (threadCount < 0 || repeatCount < 0)
                throw new CliUserException("bench gemm: --threads and --repeats must be ≥ 0.");
            var path = parseResult.GetValue(kernel) switch
            {
                "avx512" => GemmKernelPath.Vector512,
                "avx2" => GemmKernelPath.Vector256,
                "vector128" => GemmKernelPath.Vector128,
                "scalar" => GemmKernelPath.Scalar,
                _ => GemmKernelPath.Auto,
            };
            if (!Gemm.IsSupported(path))
                throw new CliUserException($"bench gemm: the {parseResult.GetValue(kernel)} kernel does not run on this CPU.");
            ComputeSettings.ThreadCount = threadCount;
            var result = Measure(mv, nv, kv, parseResult.GetValue(transA), parseResult.GetValue(transB), path, repeatCount);
            if (parseResult.GetValue(json)) WriteJson(output, result);
            else WriteText(output, result);
            return 0;
        });
        return command;
    }

    private sealed record Result(int M, int N, int K, bool TransA, bool TransB, string Kernel, int Threads, int Repeats,
        double BestMs, double MedianMs)
    {
        public double Flops => 2.0 * M * N * K;
        public double BestGflops => Flops / (BestMs * 1e6);
        public double MedianGflops => Flops / (MedianMs * 1e6);
    }

    private static Result Measure(int m, int n, int k, bool transA, bool transB, GemmKernelPath path, int repeats)
    {
        var random = new Random(1);
        float[] a = RandomArray(m * k, random), b = RandomArray(k * n, random), c = new float[m * n];
        int threads = ComputeSettings.ThreadCount;
        void RunOnce() => Gemm.Multiply(a, transA, b, transB, c, m, n, k, accumulate: false, path, threads);

        var clock = Stopwatch.StartNew();
        int warmUps = 0;
        while (warmUps < 3 || clock.Elapsed < WarmUp)
        {
            RunOnce();
            warmUps++;
        }
        double warmMs = clock.Elapsed.TotalMilliseconds / warmUps;
        if (repeats == 0) repeats = (int)Math.Clamp(Budget.TotalMilliseconds / Math.Max(warmMs, 1e-3), 5, 1000);
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            RunOnce();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        string kernel = (path == GemmKernelPath.Auto ? Gemm.BestPath : path).ToString();
        return new Result(m, n, k, transA, transB, kernel, threads, repeats, times[0], times[repeats / 2]);
    }

    private static float[] RandomArray(int length, Random random)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    private static void WriteText(TextWriter output, Result r)
    {
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Format(inv,
            "gemm m={0} n={1} k={2}{3}{4}  kernel {5}  threads {6}  runs {7}",
            r.M, r.N, r.K, r.TransA ? " Aᵀ" : "", r.TransB ? " Bᵀ" : "", r.Kernel, r.Threads, r.Repeats));
        output.WriteLine(string.Format(inv, "best   {0,9:F3} ms  {1,8:F1} GFLOP/s", r.BestMs, r.BestGflops));
        output.WriteLine(string.Format(inv, "median {0,9:F3} ms  {1,8:F1} GFLOP/s", r.MedianMs, r.MedianGflops));
    }

    private static void WriteJson(TextWriter output, Result r)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("benchmark", "gemm");
            json.WriteNumber("m", r.M);
            json.WriteNumber("n", r.N);
            json.WriteNumber("k", r.K);
            json.WriteBoolean("trans_a", r.TransA);
            json.WriteBoolean("trans_b", r.TransB);
            json.WriteString("kernel", r.Kernel);
            json.WriteNumber("threads", r.Threads);
            json.WriteNumber("runs", r.Repeats);
            json.WriteNumber("ms", Math.Round(r.BestMs, 4));
            json.WriteNumber("ms_median", Math.Round(r.MedianMs, 4));
            json.WriteNumber("gflops", Math.Round(r.BestGflops, 2));
            json.WriteNumber("gflops_median", Math.Round(r.MedianGflops, 2));
            json.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
