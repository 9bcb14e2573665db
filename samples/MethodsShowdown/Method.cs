using Peft.Net;
using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Optim;
using Peft.Net.Quantization;

namespace MethodsShowdown;

/// <summary>One fine-tuning method: how it changes the freshly loaded base model, and (optionally) its own optimizer.</summary>
internal sealed record Method(string Name, Action<LlamaForCausalLM> Prepare, Func<LlamaForCausalLM, double, Optimizer>? CreateOptimizer = null)
{
    private const int Rank = 8;
    private const float Alpha = 16;

    /// <summary>The five contenders; every adapter has rank 8, α 16, on all linear layers but the head, seed 0.</summary>
    public static IReadOnlyList<Method> All { get; } =
    [
        new("LoRA", m => m.ApplyLora(rank: Rank, alpha: Alpha)),
        new("DoRA", m => m.ApplyDora(rank: Rank, alpha: Alpha)),
        new("DoRA+NEFTune", m =>
        {
            m.ApplyDora(rank: Rank, alpha: Alpha);
            m.EnableNeftune(noiseAlpha: 5f, random: new TensorRandom(5));
        }),
        new("LoRA+ (×16)", m => m.ApplyLora(rank: Rank, alpha: Alpha),
            (m, learningRate) => new LoraPlusOptimizer(m, learningRate, loraPlusRatio: 16)),
        new("QLoRA", m =>
        {
            m.QuantizeNf4(doubleQuant: true);
            m.ApplyLora(rank: Rank, alpha: Alpha);
        }),
    ];
}
