// The TorchSharp peer of `peft bench train`, `peft bench gemm` and `peft bench decode`, on LibTorch's CPU kernels.
// Training modes (handwritten, peft-lora, peft-dora, peft-qlora): one LoRA training step of the same model shape, with a
// hand-written LoRA or with Peft.Net.TorchSharp's modules; prints tokens/s, ms per step and the process's peak working set,
// as `peft bench train --json` does. `--mode gemm`: GemmPeer (the keys of `peft bench gemm --json`). `--mode decode`:
// DecodePeer (the keys of `peft bench decode --json`). benchmarks/peers/torchsharp_{ratio,gemm_ratio,decode_ratio}.sh run
// it against the engine.
// Run: dotnet run -c Release --project benchmarks/TorchSharpPeer -- --mode peft-lora --json [--threads 2]
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchLlama;
using TorchSharp;
using TorchSharpPeer;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

PeerOptions options;
try
{
    options = PeerOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
// Before the first TorchSharp call: libgomp reads the wait policy once (the scripts export it; this covers direct runs).
OpenMpWaitPolicy.PreferPassive();
torch.set_num_threads(options.Threads);
if (options.Mode == "gemm") return GemmPeer.Run(options);
if (options.Mode == "decode") return DecodePeer.Run(options);
using var rig = new TrainingStepRig(options.Mode, options.Config, options.Batch, options.Seq, options.Rank, options.Alpha);
float loss = rig.Step(); // warm-up: allocator, packed weights, optimizer state
var clock = Stopwatch.StartNew();
for (int s = 0; s < options.Steps; s++) loss = rig.Step();
double stepMs = clock.Elapsed.TotalMilliseconds / options.Steps;
double tokensPerSecond = options.Batch * options.Seq / (stepMs / 1e3);
double peakMb = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
if (!float.IsFinite(loss))
{
    Console.Error.WriteLine($"{options.Mode}: the loss is {loss}");
    return 1;
}
if (options.Json)
{
    using var writer = new Utf8JsonWriter(Console.OpenStandardOutput());
    writer.WriteStartObject();
    writer.WriteNumber("tokens_per_s", tokensPerSecond);
    writer.WriteNumber("step_ms", stepMs);
    writer.WriteNumber("peak_mb", peakMb);
    writer.WriteString("peak_mb_source", "process peak working set");
    writer.WriteNumber("trainable_params", rig.TrainableParameters);
    writer.WriteString("mode", options.Mode);
    writer.WriteNumber("threads", options.Threads);
    writer.WriteNumber("steps", options.Steps);
    writer.WriteNumber("loss", loss);
    writer.WriteEndObject();
    writer.Flush();
    Console.WriteLine();
}
else
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{options.Mode}: {tokensPerSecond:F0} tokens/s, {stepMs:F1} ms/step, peak working set {peakMb:F0} MB, {rig.TrainableParameters} trainable parameters, {options.Threads} threads"));
}
return 0;
