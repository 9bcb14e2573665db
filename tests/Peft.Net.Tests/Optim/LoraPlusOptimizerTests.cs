using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Lora;
using Peft.Net.Optim;

namespace Peft.Net.Tests.Optim;

public class LoraPlusOptimizerTests
{
    /// <summary>A small model: embedding (LoRA), attention-like projection (DoRA), a LayerNorm, an RmsNorm and a head.</summary>
    private sealed class TinyModel : Module
    {
        public TinyModel()
        {
            var random = new TensorRandom(1);
            var embed = new LoraEmbedding(new Embedding(10, 6, random));
            embed.AddAdapter("default", new LoraAdapterOptions(Rank: 2), random);
            RegisterModule("embed_tokens", embed);
            var proj = new LoraLinear(new Linear(6, 6, bias: true, random));
            proj.AddAdapter("default", new LoraAdapterOptions(Rank: 2, UseDora: true), random);
            RegisterModule("q_proj", proj);
            RegisterModule("norm", new LayerNorm(6));
            RegisterModule("rms", new RmsNorm(6));
            RegisterModule("score", new Linear(6, 3, bias: true, random));   // fully trainable, like modules_to_save
        }
    }

    [Fact]
    public void ParametersLandInPeftsGroups()
    {
        var model = new TinyModel();
        var groups = LoraPlusOptimizer.ClassifyParameters(model).ToDictionary(e => e.Name, e => e.Group);
        Assert.Equal(LoraPlusGroup.Embedding, groups["embed_tokens.lora_embedding_A.default"]);
        Assert.Equal(LoraPlusGroup.Embedding, groups["embed_tokens.lora_embedding_B.default"]);
        Assert.Equal(LoraPlusGroup.A, groups["q_proj.lora_A.default.weight"]);
        Assert.Equal(LoraPlusGroup.B, groups["q_proj.lora_B.default.weight"]);
        Assert.Equal(LoraPlusGroup.B, groups["q_proj.lora_magnitude_vector.default.weight"]);   // 1-D, decayed
        Assert.Equal(LoraPlusGroup.BNoDecay, groups["norm.weight"]);
        Assert.Equal(LoraPlusGroup.BNoDecay, groups["norm.bias"]);
        Assert.Equal(LoraPlusGroup.BNoDecay, groups["rms.weight"]);
        Assert.Equal(LoraPlusGroup.A, groups["score.weight"]);
        Assert.Equal(LoraPlusGroup.BNoDecay, groups["score.bias"]);
        // frozen base weights are not optimised
        Assert.DoesNotContain("q_proj.base_layer.weight", groups.Keys);
        Assert.DoesNotContain("embed_tokens.base_layer.weight", groups.Keys);
    }

    [Fact]
    public void GroupsCarryTheirLearningRatesAndDecay()
    {
        var model = new TinyModel();
        var optimizer = new LoraPlusOptimizer(model, learningRate: 2e-4, loraPlusRatio: 16, weightDecay: 0.1);
        Assert.Equal(["groupA", "embedding", "groupB", "groupB_no_decay"], optimizer.Groups.Select(g => g.Name));
        Assert.Equal(2e-4, optimizer.GroupA.LearningRate);
        Assert.Equal(0.1, optimizer.GroupA.WeightDecay);
        Assert.Equal(1e-6, optimizer.EmbeddingGroup.LearningRate);
        Assert.Equal(0.1, optimizer.EmbeddingGroup.WeightDecay);
        Assert.Equal(2e-4 * 16, optimizer.GroupB.LearningRate, 12);
        Assert.Equal(0.1, optimizer.GroupB.WeightDecay);
        Assert.Equal(2e-4 * 16, optimizer.GroupBNoDecay.LearningRate, 12);
        Assert.Equal(0, optimizer.GroupBNoDecay.WeightDecay);
        Assert.Equal(2, optimizer.GroupA.Parameters.Count);          // lora_A, score.weight
        Assert.Equal(2, optimizer.EmbeddingGroup.Parameters.Count);
        Assert.Equal(2, optimizer.GroupB.Parameters.Count);          // lora_B, magnitude
        Assert.Equal(4, optimizer.GroupBNoDecay.Parameters.Count);   // norm.weight, norm.bias, rms.weight, score.bias
        var proj = (LoraLinear)model.GetSubmodule("q_proj");
        Assert.Equal(LoraPlusGroup.B, optimizer.GroupOf(proj.GetLoraB("default")));
        Assert.Equal(LoraPlusGroup.A, optimizer.GroupOf(proj.GetLoraA("default")));

        var custom = new LoraPlusOptimizer(model, 1e-3, loraPlusRatio: 4, embeddingLearningRate: 5e-5);
        Assert.Equal(5e-5, custom.EmbeddingGroup.LearningRate);
        Assert.Equal(4e-3, custom.GroupB.LearningRate, 12);
        Assert.Equal(0, custom.GroupB.WeightDecay);
    }

    [Fact]
    public void StepMovesBFasterThanA()
    {
        var random = new TensorRandom(3);
        var layer = new LoraLinear(new Linear(4, 4, true, random));
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 2), random);
        Tensor.Normal([4, 2], 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraB("default").AsSpan());
        var optimizer = new LoraPlusOptimizer(layer, learningRate: 1e-3, loraPlusRatio: 10);
        var a0 = layer.GetLoraA("default").ToArray();
        var b0 = layer.GetLoraB("default").ToArray();
        var y = layer.Forward(Tensor.Normal([3, 4], 0, 1, random));
        y.Backward(Tensor.Ones(3, 4));
        optimizer.Step();
        // Adam's first step moves every parameter with a nonzero gradient by ≈ its lr
        var a1 = layer.GetLoraA("default").ToArray();
        var b1 = layer.GetLoraB("default").ToArray();
        Assert.InRange(a0.Zip(a1, (p, q) => Math.Abs(p - q)).Max(), 0.9e-3, 1.1e-3);
        Assert.InRange(b0.Zip(b1, (p, q) => Math.Abs(p - q)).Max(), 0.9e-2, 1.1e-2);
    }

    [Fact]
    public void AModelWithoutTrainableParametersIsRejected()
    {
        var frozen = new Linear(3, 3);
        frozen.RequiresGrad(false);
        var error = Assert.Throws<ArgumentException>(() => new LoraPlusOptimizer(frozen, 1e-3));
        Assert.Contains("no trainable parameters", error.Message);
    }
}
