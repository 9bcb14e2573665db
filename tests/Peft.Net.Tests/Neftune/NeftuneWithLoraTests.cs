using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Neftune;
using Peft.Net.Tests.Adapters;

namespace Peft.Net.Tests.Neftune;

/// <summary>NEFTune on a LoRA-adapted input embedding, enabled after LoRA or before it.</summary>
public class NeftuneWithLoraTests
{
    private const string Embed = "model.embed_tokens";
    private const float Alpha = 5;
    private static readonly string[] Targets = ["q_proj", "embed_tokens"];
    private static readonly int[,] Ids = AdapterTestData.Ids;

    /// <summary>Which of LoRA and NEFTune is applied first.</summary>
    public enum Order { LoraThenNeftune, NeftuneThenLora }

    /// <summary>A TinyCausalLm with LoRA on q_proj and the embedding (random A/B) and NEFTune enabled in <paramref name="order"/>.</summary>
    private static TinyCausalLm Build(Order order, bool dora = false, ulong noiseSeed = 21)
    {
        var model = new TinyCausalLm(seed: 3);
        var config = new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = Targets, UseDora = dora };
        if (order == Order.NeftuneThenLora)
        {
            model.EnableNeftune(Alpha, new TensorRandom(noiseSeed));
            model.ApplyLora(config);
        }
        else
        {
            model.ApplyLora(config);
            model.EnableNeftune(Alpha, new TensorRandom(noiseSeed));
        }
        AdapterTestData.Randomize(model, "default", 8);
        return model;
    }

    private static TinyCausalLm LoraOnly(bool dora = false)
    {
        var model = new TinyCausalLm(seed: 3);
        model.ApplyLora(new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = Targets, UseDora = dora });
        AdapterTestData.Randomize(model, "default", 8);
        return model;
    }

    private static int[] RandomIds(int count, ulong seed)
    {
        var random = new TensorRandom(seed);
        return Enumerable.Range(0, count).Select(_ => random.NextInt(TinyCausalLm.Vocab)).ToArray();
    }

    [Theory]
    [InlineData(Order.LoraThenNeftune, false)]
    [InlineData(Order.NeftuneThenLora, false)]
    [InlineData(Order.LoraThenNeftune, true)]
    [InlineData(Order.NeftuneThenLora, true)]
    public void TheLoraEmbeddingCarriesTheNoiseAndEvalIsExactlyTheAdaptedModel(Order order, bool dora)
    {
        var model = Build(order, dora);
        var layer = Assert.IsType<LoraEmbedding>(model.GetSubmodule(Embed));
        Assert.Equal(Alpha, layer.NeftuneNoiseAlpha);
        Assert.DoesNotContain(model.NamedModules(), m => m.Module is NeftuneEmbedding);
        var reference = LoraOnly(dora);
        Assert.Equal(reference.StateDict().Keys, model.StateDict().Keys);   // no extra level in the names
        Assert.Equal(AdapterTestData.TrainableNames(reference), AdapterTestData.TrainableNames(model));

        reference.Eval();
        var expected = reference.Logits(Ids).ToArray();
        model.Eval();
        TensorAssert.BitEqual(expected, model.Logits(Ids).ToArray(), "eval mode: exactly zero NEFTune effect");
        model.Train();
        Assert.NotEqual(expected, model.Logits(Ids).ToArray());
        model.Eval();
        TensorAssert.BitEqual(expected, model.Logits(Ids).ToArray(), "eval mode again");
    }

    [Fact]
    public void BothOrdersGiveTheSameNoisyTrainingOutputs()
    {
        var first = Build(Order.LoraThenNeftune);
        var second = Build(Order.NeftuneThenLora);
        first.Train();
        second.Train();
        for (int step = 0; step < 3; step++)
            TensorAssert.BitEqual(first.Logits(Ids).ToArray(), second.Logits(Ids).ToArray(), $"training step {step}");
    }

    [Theory]
    [InlineData(Order.LoraThenNeftune)]
    [InlineData(Order.NeftuneThenLora)]
    public void TheNoiseIsUniformOnAlphaOverSqrtLengthTimesDimAroundTheAdaptedOutput(Order order)
    {
        const int batch = 16, time = 64, dim = TinyCausalLm.Hidden;
        var layer = (LoraEmbedding)Build(order).GetSubmodule(Embed);
        var ids = RandomIds(batch * time, 4);
        layer.Eval();
        var clean = layer.Forward(ids, batch, time).ToArray();
        layer.Train();
        Tensor noisyTensor;
        using (Tensor.NoGrad()) noisyTensor = layer.Forward(ids, batch, time);
        var noisy = noisyTensor.ToArray();

        double bound = Alpha / Math.Sqrt((double)time * dim);   // L = padded length (dimension 1), d = embedding size
        double sum = 0, sumSquares = 0, maxAbs = 0;
        for (int i = 0; i < clean.Length; i++)
        {
            double noise = noisy[i] - (double)clean[i];
            sum += noise;
            sumSquares += noise * noise;
            maxAbs = Math.Max(maxAbs, Math.Abs(noise));
        }
        int n = clean.Length;
        double mean = sum / n, variance = sumSquares / n - mean * mean;
        Assert.True(maxAbs <= bound * (1 + 1e-4), $"max |noise| {maxAbs} exceeds α/√(L·d) = {bound}");
        Assert.True(maxAbs > 0.99 * bound, $"max |noise| {maxAbs} should approach the bound {bound} over {n} samples");
        Assert.InRange(variance, 0.95 * bound * bound / 3, 1.05 * bound * bound / 3);   // Var U(−c, c) = c²/3
        Assert.InRange(mean, -0.02 * bound, 0.02 * bound);
    }

    [Theory]
    [InlineData(Order.LoraThenNeftune)]
    [InlineData(Order.NeftuneThenLora)]
    public void DisableNeftuneRevertsToTheAdaptedModel(Order order)
    {
        var model = Build(order);
        var reference = LoraOnly();
        reference.Train();
        model.DisableNeftune();
        var layer = Assert.IsType<LoraEmbedding>(model.GetSubmodule(Embed));
        Assert.Null(layer.NeftuneNoiseAlpha);
        model.Train();
        TensorAssert.BitEqual(reference.Logits(Ids).ToArray(), model.Logits(Ids).ToArray(), "training mode without NEFTune");
        model.DisableNeftune();   // no-op when off
        Assert.Null(layer.NeftuneNoiseAlpha);
    }

    [Fact]
    public void EnablingAgainChangesAlphaAndTheGenerator()
    {
        var model = Build(Order.LoraThenNeftune);
        var layer = (LoraEmbedding)model.GetSubmodule(Embed);
        var random = new TensorRandom(99);
        model.EnableNeftune(12f, random);
        Assert.Equal(12f, layer.NeftuneNoiseAlpha);
        Assert.Same(random, layer.NeftuneRandom);
        model.EnableNeftune(7f);
        Assert.Equal(7f, layer.NeftuneNoiseAlpha);
        Assert.Same(random, layer.NeftuneRandom);   // kept when no generator is given
        Assert.Throws<ArgumentOutOfRangeException>(() => model.EnableNeftune(-1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.EnableNeftune(float.NaN));
        Assert.Equal(7f, layer.NeftuneNoiseAlpha);
    }

    [Fact]
    public void LoraOnANeftuneEmbeddingTakesOverItsGeneratorAndTrainingMode()
    {
        var model = new TinyCausalLm(seed: 3);
        var random = new TensorRandom(5);
        model.EnableNeftune(Alpha, random);
        model.Eval();
        model.ApplyLora(targetModules: Targets);
        var layer = Assert.IsType<LoraEmbedding>(model.GetSubmodule(Embed));
        Assert.Same(random, layer.NeftuneRandom);
        Assert.False(layer.IsTraining);
        Assert.False(layer.Base.Weight.RequiresGrad);   // the base table is frozen like any LoRA base

        var pissa = new TinyCausalLm();
        pissa.EnableNeftune();
        var error = Assert.Throws<NotSupportedException>(() => pissa.ApplyLora(targetModules: Targets, init: LoraInit.PiSSA));
        Assert.Contains("'model.embed_tokens'", error.Message);
        Assert.IsType<NeftuneEmbedding>(pissa.GetSubmodule(Embed));   // refused before anything changed
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UnloadingKeepsNeftuneOnThePlainEmbedding(bool merge)
    {
        var model = Build(Order.LoraThenNeftune);
        var layer = (LoraEmbedding)model.GetSubmodule(Embed);
        var table = layer.Base.Weight;
        if (merge) model.MergeAndUnload();
        else model.Unload();
        var neftune = Assert.IsType<NeftuneEmbedding>(model.GetSubmodule(Embed));
        Assert.Equal(Alpha, neftune.NoiseAlpha);
        Assert.Same(layer.NeftuneRandom, neftune.Random);
        Assert.Same(table, neftune.Weight);
        Assert.Equal(new TinyCausalLm().StateDict().Keys, model.StateDict().Keys);
        model.DisableNeftune();
        Assert.IsType<Embedding>(model.GetSubmodule(Embed));
    }
}
