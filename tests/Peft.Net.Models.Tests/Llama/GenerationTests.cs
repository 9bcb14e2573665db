using Peft.Net.Core;

namespace Peft.Net.Models.Tests.Llama;

public class GenerationTests
{
    [Fact]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits()
    {
        float[] logits = [2f, -2f, 3f, -1f];
        LogitsProcessor.ApplyRepetitionPenalty(logits, new HashSet<int> { 0, 1 }, 2f);
        Assert.Equal([1f, -4f, 3f, -1f], logits);
    }

    [Fact]
    public void TopKKeepsTheKLargestAndTheirTies()
    {
        float[] logits = [1f, 5f, 3f, 3f, 0f];
        LogitsProcessor.ApplyTopK(logits, 2);
        Assert.Equal([float.NegativeInfinity, 5f, 3f, 3f, float.NegativeInfinity], logits);
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        // probabilities ≈ 0.643, 0.237, 0.087, 0.032: 0.643 + 0.237 reaches 0.8, the rest go.
        float[] logits = [3f, 2f, 1f, 0f];
        LogitsProcessor.ApplyTopP(logits, 0.8f);
        Assert.Equal([3f, 2f, float.NegativeInfinity, float.NegativeInfinity], logits);
        float[] peaked = [10f, 0f, 0f];
        LogitsProcessor.ApplyTopP(peaked, 0.5f);
        Assert.Equal([10f, float.NegativeInfinity, float.NegativeInfinity], peaked);
    }

    [Fact]
    public void SamplingFollowsTheSoftmax()
    {
        float[] logits = [0f, MathF.Log(3f), float.NegativeInfinity];
        // probabilities 0.25, 0.75, 0
        Assert.Equal(0, LogitsProcessor.Sample(logits, 0.1));
        Assert.Equal(1, LogitsProcessor.Sample(logits, 0.3));
        Assert.Equal(1, LogitsProcessor.Sample(logits, 0.999999));
        var random = new TensorRandom(1);
        int ones = 0;
        for (int i = 0; i < 4000; i++) ones += LogitsProcessor.Sample(logits, random.NextDouble());
        Assert.InRange(ones / 4000.0, 0.72, 0.78);
    }

    [Fact]
    public void GenerationStopsAtAStopTokenAndIncludesIt()
    {
        var model = LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder("llama"));
        var greedy = LlamaFixtures.Ints(LlamaFixtures.Expected("llama"), "greedy");
        int stop = greedy[5];
        var generated = model.Generate([1, 17, 42, 99, 3], new GenerationOptions { MaxNewTokens = 32, StopTokens = [stop] });
        int first = Array.IndexOf(greedy, stop);
        Assert.Equal(greedy[..(first + 1)], generated);
    }

    [Fact]
    public void TheSameSeedGivesTheSameSampleAndTheModeIsRestored()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(), new TensorRandom(5));
        model.Train();
        var options = new GenerationOptions { MaxNewTokens = 12, Greedy = false, Temperature = 1.5f, Seed = 3, StopTokens = [] };
        var first = model.Generate([1, 4], options);
        Assert.Equal(first, model.Generate([1, 4], options));
        Assert.NotEqual(first, model.Generate([1, 4], options with { Seed = 4 }));
        Assert.True(model.IsTraining);
    }

    [Fact]
    public void BadOptionsAndPromptsAreRefused()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig());
        Assert.Throws<ArgumentException>(() => model.Generate([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate([1], new GenerationOptions { TopP = 0f }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate([1], new GenerationOptions { Temperature = 0f }));
        var tooLong = Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate([1, 2], new GenerationOptions { MaxNewTokens = 63 }));
        Assert.Contains("max_position_embeddings", tooLong.Message);
    }
}
