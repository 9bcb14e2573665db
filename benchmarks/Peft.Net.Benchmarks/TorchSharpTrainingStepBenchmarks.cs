using BenchmarkDotNet.Attributes;
using TorchLlama;
using TorchSharp;
using TorchSharpPeer;

namespace Peft.Net.Benchmarks;

/// <summary>
/// The <see cref="TrainingStepBenchmarks"/> step on TorchSharp (LibTorch CPU, 2 threads): the same model shape with a
/// hand-written LoRA (frozen Linear + Linear A/B), with Peft.Net.TorchSharp's <c>ApplyLora</c>, <c>ApplyDora</c>, and
/// <c>QuantizeNf4</c> + <c>ApplyLora</c>. Runs in-process: the host's bin/ holds the libLibTorchSharp.so that the
/// Debian 12 GLIBCXX fix has patched, while BenchmarkDotNet's generated child projects would copy unpatched ones.
/// Run: <c>dotnet run -c Release --project benchmarks/Peft.Net.Benchmarks -- --filter *TorchSharpTrainingStep*</c>.
/// The peer script benchmarks/peers/torchsharp_ratio.sh measures the same against the engine in one session.
/// </summary>
[InProcess]
[WarmupCount(2)]
[IterationCount(5)]
[InvocationCount(1, unrollFactor: 1)]
public class TorchSharpTrainingStepBenchmarks
{
    private TrainingStepRig _rig = null!;

    /// <summary>handwritten, peft-lora, peft-dora or peft-qlora.</summary>
    [Params("handwritten", "peft-lora", "peft-dora", "peft-qlora")]
    public string Mode { get; set; } = "peft-lora";

    [GlobalSetup]
    public void Setup()
    {
        OpenMpWaitPolicy.PreferPassive();
        torch.set_num_threads(2);
        _rig = new TrainingStepRig(Mode, BenchTrainShape.Config(), BenchTrainShape.Batch, BenchTrainShape.Seq, BenchTrainShape.Rank,
            BenchTrainShape.Alpha);
        _rig.Step(); // first step: allocator, optimizer state
    }

    [Benchmark]
    public float Step() => _rig.Step();

    [GlobalCleanup]
    public void Cleanup() => _rig.Dispose();
}
