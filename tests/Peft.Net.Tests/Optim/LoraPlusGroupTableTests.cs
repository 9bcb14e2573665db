using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Lora;
using Peft.Net.Optim;

namespace Peft.Net.Tests.Optim;

/// <summary>
/// LoRA+ grouping (reference §5) on a model built by surgery: DoRA on an embedding and a biased projection,
/// modules_to_save on a biased head, a LayerNorm and an RmsNorm. Every trainable parameter is listed with its group,
/// learning rate and weight decay.
/// </summary>
public class LoraPlusGroupTableTests
{
    private const double Lr = 2e-4, Ratio = 16, Decay = 0.1, EmbeddingLr = LoraPlusOptimizer.DefaultEmbeddingLearningRate;

    private sealed class Model : Module
    {
        public Model()
        {
            var random = new TensorRandom(4);
            RegisterModule("embed_tokens", new Embedding(12, 6, random));
            RegisterModule("q_proj", new Linear(6, 6, bias: true, random));
            RegisterModule("norm", new LayerNorm(6));
            RegisterModule("rms", new RmsNorm(6));
            RegisterModule("score", new Linear(6, 3, bias: true, random));
        }
    }

    /// <summary>Name, group, learning rate, weight decay.</summary>
    public static TheoryData<string, LoraPlusGroup, double, double> Table => new()
    {
        // owner (name minus its last two parts) is the LoraEmbedding → embedding group
        { "embed_tokens.lora_embedding_A.default", LoraPlusGroup.Embedding, EmbeddingLr, Decay },
        { "embed_tokens.lora_embedding_B.default", LoraPlusGroup.Embedding, EmbeddingLr, Decay },
        // the embedding's DoRA magnitude: owner is the lora_magnitude_vector dict, 1-D, decayed
        { "embed_tokens.lora_magnitude_vector.default.weight", LoraPlusGroup.B, Lr * Ratio, Decay },
        { "q_proj.lora_A.default.weight", LoraPlusGroup.A, Lr, Decay },
        { "q_proj.lora_B.default.weight", LoraPlusGroup.B, Lr * Ratio, Decay },
        { "q_proj.lora_magnitude_vector.default.weight", LoraPlusGroup.B, Lr * Ratio, Decay },
        // modules_to_save copies: ≥ 2-D → A; biases and norm weights (inside LayerNorm-type layers) → B_no_decay
        { "norm.modules_to_save.default.weight", LoraPlusGroup.BNoDecay, Lr * Ratio, 0 },
        { "norm.modules_to_save.default.bias", LoraPlusGroup.BNoDecay, Lr * Ratio, 0 },
        { "rms.modules_to_save.default.weight", LoraPlusGroup.BNoDecay, Lr * Ratio, 0 },
        { "score.modules_to_save.default.weight", LoraPlusGroup.A, Lr, Decay },
        { "score.modules_to_save.default.bias", LoraPlusGroup.BNoDecay, Lr * Ratio, 0 },
    };

    private static (Model Model, LoraPlusOptimizer Optimizer) Build()
    {
        var model = new Model();
        model.ApplyDora(rank: 2, alpha: 4, targetModules: ["embed_tokens", "q_proj"], modulesToSave: ["norm", "rms", "score"]);
        return (model, new LoraPlusOptimizer(model, Lr, Ratio, Decay));
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void EachParameterHasItsGroupLearningRateAndDecay(string name, LoraPlusGroup group, double lr, double weightDecay)
    {
        var (model, optimizer) = Build();
        var parameter = model.NamedParameters().Single(p => p.Name == name).Parameter;
        Assert.True(parameter.RequiresGrad, $"{name} should be trainable");
        Assert.Equal(group, optimizer.GroupOf(parameter));
        Assert.Equal(group, LoraPlusOptimizer.ClassifyParameters(model).Single(e => e.Name == name).Group);
        var owning = Assert.Single(optimizer.Groups, g => g.Parameters.Any(p => ReferenceEquals(p, parameter)));
        Assert.Equal(lr, owning.LearningRate, 12);
        Assert.Equal(weightDecay, owning.WeightDecay, 12);
    }

    [Fact]
    public void TheTableCoversExactlyTheTrainableParameters()
    {
        var (model, optimizer) = Build();
        var trainable = model.NamedParameters().Where(p => p.Parameter.RequiresGrad).Select(p => p.Name).Order(StringComparer.Ordinal);
        var listed = Table.Select(row => (string)row[0]).Order(StringComparer.Ordinal);
        Assert.Equal(listed, trainable);
        Assert.Equal(Table.Count, optimizer.Groups.Sum(g => g.Parameters.Count));
        // frozen base weights and the original copies of modules_to_save are not optimised
        Assert.DoesNotContain(LoraPlusOptimizer.ClassifyParameters(model), e => e.Name.Contains("base_layer") || e.Name.Contains("original_module"));
    }
}
