using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Quantization;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft bench dequant [--elements 16777216] [--blocksize 64] [--json]</c>: times 4-bit dequantization to float32
/// (NF4 plain and double-quantized) against a plain copy of the same float32 output in the same session, the
/// memory-bandwidth ceiling. <c>gb_per_s</c> counts bytes of float32 output per second (best run); <c>ratio</c> is
/// dequant / copy. The copy is split into the same chunks on the same threads as the dequantization (the engine's
/// <see cref="ParallelRunner"/>, <see cref="ComputeSettings.ThreadCount"/> threads).
/// </summary>
internal static class BenchDequantCommand
{
    // The dequantizer's chunking (FourBitDequantizeKernel): chunks of 2^18 elements from 2^20 elements on.
    private const int ChunkElements = 1 << 18;
    private const int ParallelThreshold = 1 << 20;

    public static Command Create()
    {
        var elements = new Option<int>("--elements") { Description = "Elements of the tensor (16777216: a 4096×4096 weight).", DefaultValueFactory = _ => 16_777_216 };
        var blockSize = new Option<int>("--blocksize") { Description = "Elements per absmax.", DefaultValueFactory = _ => 64 };
        var budget = new Option<int>("--budget-ms") { Description = "Time spent on each measurement (at least 5 runs).", DefaultValueFactory = _ => 1500 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var command = new Command("dequant", "Measure NF4 dequantization to float32 in GB/s of output, against a plain memory copy.")
        {
            elements, blockSize, budget, json,
        };
        command.SetCliAction((parseResult, console) =>
        {
            int n = parseResult.GetValue(elements), b = parseResult.GetValue(blockSize);
            if (n <= 0 || n > Array.MaxLength)
                throw new CliUserException($"--elements {n}: must be between 1 and {Array.MaxLength}");
            if (!QuantizedTensor.SupportedBlockSizes.Contains(b))
                throw new CliUserException($"--blocksize {b}: bitsandbytes supports {string.Join(", ", QuantizedTensor.SupportedBlockSizes)}");
            return Run(console, n, b, TimeSpan.FromMilliseconds(Math.Max(0, parseResult.GetValue(budget))), parseResult.GetValue(json));
        });
        return command;
    }

    private readonly record struct Timing(double BestSeconds, double MedianSeconds, int Runs);

    private static int Run(CliConsole console, int n, int blockSize, TimeSpan budget, bool json)
    {
        var weight = Tensor.Normal([n], 0, 0.02f, new TensorRandom(1));
        var nf4 = Nf4Quantizer.Quantize(weight, QuantType.Nf4, blockSize);
        var nf4Double = Nf4Quantizer.Quantize(weight, QuantType.Nf4, blockSize, doubleQuant: true);
        float[] source = weight.AsSpan().ToArray();
        var destination = new float[n];

        var copy = Measure(() => ParallelCopy(source, destination), budget);
        var singleCopy = Measure(() => source.AsSpan().CopyTo(destination), budget);
        var plain = Measure(() => nf4.DequantizeInto(destination), budget);
        var nested = Measure(() => nf4Double.DequantizeInto(destination), budget);

        double bytes = 4.0 * n;
        double Gbps(double seconds) => Math.Round(bytes / seconds / 1e9, 3);
        if (json)
        {
            JsonOutput.WriteObject(console.Out, w =>
            {
                w.WriteNumber("elements", n);
                w.WriteNumber("blocksize", blockSize);
                w.WriteNumber("threads", ComputeSettings.ThreadCount);
                w.WriteNumber("gb_per_s", Gbps(plain.BestSeconds));
                w.WriteNumber("double_quant_gb_per_s", Gbps(nested.BestSeconds));
                w.WriteNumber("copy_gb_per_s", Gbps(copy.BestSeconds));
                w.WriteNumber("ratio", Math.Round(copy.BestSeconds / plain.BestSeconds, 3));
                w.WriteNumber("double_quant_ratio", Math.Round(copy.BestSeconds / nested.BestSeconds, 3));
                w.WriteNumber("single_thread_copy_gb_per_s", Gbps(singleCopy.BestSeconds));
                w.WriteNumber("gb_per_s_median", Gbps(plain.MedianSeconds));
                w.WriteNumber("copy_gb_per_s_median", Gbps(copy.MedianSeconds));
            });
            return CliAction.Success;
        }
        var rows = new List<string[]>
        {
            Row("NF4 dequant", plain, Gbps, copy),
            Row("NF4 dequant, double quant", nested, Gbps, copy),
            Row("copy (same chunks and threads)", copy, Gbps, copy),
            Row("copy (one thread)", singleCopy, Gbps, copy),
        };
        console.Out.WriteLine($"{n} elements ({bytes / 1e6:F1} MB of float32 output), blocksize {blockSize}, {ComputeSettings.ThreadCount} threads");
        TableOutput.Write(console, [new("what"), new("GB/s best", true), new("GB/s median", true), new("vs copy", true), new("runs", true)], rows);
        return CliAction.Success;
    }

    private static string[] Row(string what, Timing t, Func<double, double> gbps, Timing copy) =>
    [
        what,
        gbps(t.BestSeconds).ToString("F2", CultureInfo.InvariantCulture),
        gbps(t.MedianSeconds).ToString("F2", CultureInfo.InvariantCulture),
        (copy.BestSeconds / t.BestSeconds).ToString("F2", CultureInfo.InvariantCulture) + "x",
        t.Runs.ToString(CultureInfo.InvariantCulture),
    ];

    /// <summary>Two warm-up runs, then timed runs for about <paramref name="budget"/> (at least 5).</summary>
    private static Timing Measure(Action action, TimeSpan budget)
    {
        action();
        action();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 5 || total.Elapsed < budget)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        times.Sort();
        return new Timing(times[0], times[times.Count / 2], times.Count);
    }

    [ThreadStatic] private static CopyWork? t_copy;

    // source: (n) → destination: (n), in the dequantizer's parallel chunks on the engine's thread pool
    private static unsafe void ParallelCopy(float[] source, float[] destination)
    {
        if (source.Length < ParallelThreshold)
        {
            source.AsSpan().CopyTo(destination);
            return;
        }
        var work = t_copy ??= new CopyWork();
        fixed (float* s = source, d = destination)
        {
            work.Source = s;
            work.Destination = d;
            work.RunChunks(source.Length, ChunkElements);
        }
    }

    /// <summary>Floats [start, end) of <see cref="ParallelCopy"/>.</summary>
    private sealed unsafe class CopyWork : ChunkedWork
    {
        public float* Source, Destination;

        protected override void Run(int start, int end) =>
            new ReadOnlySpan<float>(Source + start, end - start).CopyTo(new Span<float>(Destination + start, end - start));
    }
}
