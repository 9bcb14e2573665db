using BenchmarkDotNet.Attributes;
using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Quantization;

namespace Peft.Net.Benchmarks;

/// <summary>
/// One whole training step (forward, backward, AdamW, zero-grad) of the <c>peft bench train</c> default model: dim 512,
/// 4 layers, 8 heads, FFN 1376, vocabulary 4096, batch 4 × 256 tokens, rank 8 on every linear layer but the head.
/// The memory diagnoser's "Allocated" column is the steady-state heap allocation per step: activation and gradient
/// buffers are reused from step to step, so it stays in the low megabytes for a graph of hundreds of megabytes.
/// Run: <c>dotnet run -c Release --project benchmarks/Peft.Net.Benchmarks -- --filter *TrainingStepBenchmarks*</c>.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5, invocationCount: 1)]
public class TrainingStepBenchmarks
{
    private const int Batch = BenchTrainShape.Batch, Time = BenchTrainShape.Seq;

    private LlamaForCausalLM _model = null!;
    private AdamW _optimizer = null!;
    private int[] _ids = [];

    /// <summary>lora, dora or qlora (NF4 base with double quantization).</summary>
    [Params("lora", "dora", "qlora")]
    public string Method { get; set; } = "lora";

    [GlobalSetup]
    public void Setup()
    {
        var config = BenchTrainShape.Config();
        _model = new LlamaForCausalLM(config, new TensorRandom(0));
        if (Method == "qlora") _model.QuantizeNf4(QuantType.Nf4, blockSize: 64, doubleQuant: true);
        if (Method == "dora") _model.ApplyDora(rank: BenchTrainShape.Rank, alpha: BenchTrainShape.Alpha, targetRegex: "all-linear");
        else _model.ApplyLora(rank: BenchTrainShape.Rank, alpha: BenchTrainShape.Alpha, targetRegex: "all-linear");
        _model.Train();
        _optimizer = new AdamW(_model.TrainableParameters(), learningRate: 2e-4);
        var random = new TensorRandom(1);
        _ids = new int[Batch * Time];
        for (int i = 0; i < _ids.Length; i++) _ids[i] = random.NextInt(config.VocabSize);
        Step(); // first step: buffers, packed weights, optimizer state
    }

    [Benchmark]
    public void Step()
    {
        _model.Loss(_ids, _ids, Batch, Time).Backward();
        _optimizer.Step();
        _optimizer.ZeroGrad();
    }
}
