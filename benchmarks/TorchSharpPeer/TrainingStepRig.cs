using Peft.Net.Models;
using Peft.Net.TorchSharp;
using TorchLlama;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchSharpPeer;

/// <summary>
/// One LoRA training step (forward + loss, backward, AdamW step, zero-grad, in a dispose scope) of the
/// <c>peft bench train</c> model on TorchSharp, in one of four set-ups: a hand-written LoRA
/// (<see cref="HandwrittenLoraLinear"/> in every projection), or Peft.Net.TorchSharp's <c>ApplyLora</c>,
/// <c>ApplyDora</c>, or <c>QuantizeNf4</c> + <c>ApplyLora</c> on the plain model. All linear layers but the head.
/// </summary>
internal sealed class TrainingStepRig : IDisposable
{
    private readonly TorchLlamaForCausalLM _model;
    private readonly optim.Optimizer _optimizer;
    private readonly Tensor _ids;

    public TrainingStepRig(string mode, LlamaConfig config, int batch, int seq, int rank, float alpha)
    {
        manual_seed(0);
        if (mode == "handwritten")
        {
            _model = new TorchLlamaForCausalLM(config, (i, o, bias) => new HandwrittenLoraLinear(i, o, bias, rank, alpha));
            foreach (var (name, p) in _model.named_parameters())
                p.requires_grad = name.Contains("lora_", StringComparison.Ordinal);
        }
        else
        {
            _model = new TorchLlamaForCausalLM(config);
            if (mode == "peft-qlora") _model.QuantizeNf4(doubleQuant: true);
            var summary = mode == "peft-dora" ? _model.ApplyDora(rank: rank, alpha: alpha) : _model.ApplyLora(rank: rank, alpha: alpha);
            if (summary.TrainableParameters == 0) throw new InvalidOperationException($"{mode}: the model has no trainable parameters after surgery.");
        }
        var trainable = _model.parameters().Where(p => p.requires_grad).ToList();
        TrainableParameters = trainable.Sum(p => p.numel());
        _optimizer = optim.AdamW(trainable, lr: 2e-4);
        _model.train();
        var generator = new torch.Generator(1);
        _ids = randint(config.VocabSize, [batch, seq], dtype: ScalarType.Int64, generator: generator);
    }

    /// <summary>Elements of the parameters the optimizer updates.</summary>
    public long TrainableParameters { get; }

    /// <summary>One step; returns the loss.</summary>
    public float Step()
    {
        using var scope = NewDisposeScope();
        var loss = _model.Loss(_ids, _ids);
        loss.backward();
        _optimizer.step();
        _optimizer.zero_grad();
        return loss.item<float>();
    }

    public void Dispose()
    {
        _ids.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
    }
}
