using System.Diagnostics;
using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Quantization;

namespace Peft.Net.Benchmarks;

/// <summary>
/// One timed training step of the <c>bench train</c> default model for the in-process timing modes: the model with
/// rank-8 LoRA or DoRA on every decoder linear layer (QLoRA: LoRA over the 4-bit base), AdamW, and fixed random token
/// ids of the step's 1,024 tokens, used as both inputs and targets. <see cref="Run"/> times forward, backward, the
/// optimizer step and zero-grad.
/// </summary>
internal sealed class BenchTrainStep
{
    private const int Tokens = BenchTrainShape.Batch * BenchTrainShape.Seq;

    private readonly LlamaForCausalLM _model;
    private readonly AdamW _optimizer;
    private readonly int[] _ids;
    private readonly int _batch, _seq;

    /// <param name="method">lora, dora or qlora.</param>
    /// <param name="seq">Sequence length, dividing 1,024 (the batch is 1,024 / seq).</param>
    public BenchTrainStep(string method = "lora", int seq = BenchTrainShape.Seq)
    {
        Config = BenchTrainShape.Config();
        _model = method == "qlora"
            ? new LlamaForCausalLM(Config, FourBitQuantization.QLoRA, new TensorRandom(0), unquantizedDType: DType.BF16)
            : new LlamaForCausalLM(Config, new TensorRandom(0));
        if (method == "dora") _model.ApplyDora(rank: BenchTrainShape.Rank, alpha: BenchTrainShape.Alpha, targetRegex: "all-linear");
        else _model.ApplyLora(rank: BenchTrainShape.Rank, alpha: BenchTrainShape.Alpha, targetRegex: "all-linear");
        _model.Train();
        _optimizer = new AdamW(_model.TrainableParameters(), learningRate: 2e-4, weightDecay: 0.01);
        var random = new TensorRandom(1);
        _ids = new int[Tokens];
        for (int i = 0; i < _ids.Length; i++) _ids[i] = random.NextInt(Config.VocabSize);
        _seq = seq;
        _batch = Tokens / seq;
    }

    /// <summary>The model's configuration (for FLOP counts).</summary>
    public LlamaConfig Config { get; }

    /// <summary>Sequences a step holds.</summary>
    public int Batch => _batch;

    /// <summary>Runs one step; returns its seconds.</summary>
    public double Run()
    {
        var watch = Stopwatch.StartNew();
        _model.Loss(_ids, _ids, _batch, _seq).Backward();
        _optimizer.Step();
        _optimizer.ZeroGrad();
        return watch.Elapsed.TotalSeconds;
    }
}
