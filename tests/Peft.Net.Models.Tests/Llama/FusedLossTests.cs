using Peft.Net.Core;
using Peft.Net.Lora;

namespace Peft.Net.Models.Tests.Llama;

/// <summary><see cref="LlamaForCausalLM.Loss"/> with the fused head + cross-entropy (the default) against the unfused path.</summary>
public sealed class FusedLossTests
{
    private static LlamaForCausalLM Model(string[]? modulesToSave)
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 4096,
            MaxPositionEmbeddings = 64,
        }, new TensorRandom(6));
        model.ApplyLora(rank: 4, alpha: 8, modulesToSave: modulesToSave, seed: 2);
        var random = new TensorRandom(8);
        foreach (var (name, p) in model.NamedParameters())
            if (name.Contains("lora_B")) Tensor.Normal(p.ShapeArray(), 0, 0.05f, random).AsSpan().CopyTo(p.AsSpan());
        return model;
    }

    private static (float Loss, Dictionary<string, float[]> Gradients) Step(LlamaForCausalLM model, bool fused, int[] ids, int[] labels)
    {
        model.FusedLoss = fused;
        foreach (var p in model.TrainableParameters()) p.Grad = null;
        var loss = model.Loss(ids, labels, 2, 12);
        loss.Backward();
        return (loss.Item(), model.NamedParameters().Where(p => p.Parameter.Grad is not null).ToDictionary(p => p.Name, p => p.Parameter.Grad!.ToArray()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Loss_and_gradients_equal_the_unfused_path(bool trainableHead)
    {
        var model = Model(trainableHead ? ["lm_head"] : null);
        var random = new TensorRandom(1);
        var ids = Enumerable.Range(0, 24).Select(_ => random.NextInt(4096)).ToArray();
        var labels = ids.Select((id, i) => i % 12 < 4 || i >= 20 ? -100 : id).ToArray(); // prompt and padding masked

        var unfused = Step(model, fused: false, ids, labels);
        var fused = Step(model, fused: true, ids, labels);

        Assert.Equal(BitConverter.SingleToInt32Bits(unfused.Loss), BitConverter.SingleToInt32Bits(fused.Loss));
        Assert.Equal(unfused.Gradients.Keys.Order(), fused.Gradients.Keys.Order());
        Assert.Equal(trainableHead, fused.Gradients.Keys.Any(k => k.StartsWith("lm_head", StringComparison.Ordinal)));
        foreach (var (name, expected) in unfused.Gradients)
        {
            var actual = fused.Gradients[name];
            double scale = expected.Max(v => Math.Abs((double)v));
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * scale + 1e-12, $"{name}[{i}]: {actual[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void The_logits_stay_available_and_score_the_same_loss()
    {
        var model = Model(null);
        var ids = Enumerable.Range(0, 24).Select(i => (i * 37) % 4096).ToArray();
        float fused = model.Loss(ids, ids, 2, 12).Item();
        var logits = model.Forward(ids, 2, 12);
        Assert.Equal([2, 12, 4096], logits.ShapeArray());
        var targets = Enumerable.Range(0, 24).Select(i => i % 12 == 11 ? -100 : ids[i + 1]).ToArray();
        Assert.Equal(fused, Ops.CrossEntropy(logits, targets).Item());
    }
}
