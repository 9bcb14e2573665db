using Peft.Net.Core;
using Peft.Net.Models.Tests.Llama;

namespace Peft.Net.Models.Tests.Families;

/// <summary>Left-padded batched generation gives every prompt the tokens it gets alone.</summary>
public class LeftPaddingTests
{
    private static readonly int[][] Prompts =
    [
        [3, 17, 42, 99, 5, 250, 7, 64, 128],
        [3, 200, 5],
        [3, 9, 77, 145, 6, 201],
        [3, 11],
    ];

    private static void AssertBatchEqualsOneAtATime(LlamaForCausalLM model, GenerationOptions options)
    {
        var batched = model.GenerateBatch(Prompts, options);
        Assert.Equal(Prompts.Length, batched.Length);
        for (int r = 0; r < Prompts.Length; r++)
            Assert.Equal(model.Generate(Prompts[r], options), batched[r]);
    }

    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void FamilyBatchOfDifferentLengthsGivesTheSameTokensAsOnePromptAtATime(string variant)
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder(variant));
        AssertBatchEqualsOneAtATime(model, new GenerationOptions { MaxNewTokens = 24, StopTokens = [] });
    }

    [Theory]
    [MemberData(nameof(LlamaFixtures.Variants), MemberType = typeof(LlamaFixtures))]
    public void LlamaBatchOfDifferentLengthsGivesTheSameTokensAsOnePromptAtATime(string variant)
    {
        var model = LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder(variant));
        AssertBatchEqualsOneAtATime(model, new GenerationOptions { MaxNewTokens = 24, StopTokens = [] });
    }

    [Fact]
    public void WithoutCacheTheBatchGivesTheSameTokens()
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder("gemma2"));
        AssertBatchEqualsOneAtATime(model, new GenerationOptions { MaxNewTokens = 12, StopTokens = [], UseCache = false });
    }

    [Fact]
    public void RowsStopAtTheirOwnStopTokenWhileOthersGoOn()
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder("phi3"));
        var free = model.GenerateBatch(Prompts, new GenerationOptions { MaxNewTokens = 16, StopTokens = [] });
        int stopToken = free[1][3]; // row 1's fourth token becomes a stop token
        var options = new GenerationOptions { MaxNewTokens = 16, StopTokens = [stopToken] };
        var stopped = model.GenerateBatch(Prompts, options);
        for (int r = 0; r < Prompts.Length; r++)
        {
            Assert.Equal(model.Generate(Prompts[r], options), stopped[r]);
            int at = Array.IndexOf(free[r], stopToken);
            Assert.Equal(at < 0 ? free[r] : free[r][..(at + 1)], stopped[r]);
        }
        Assert.True(stopped[1].Length <= 4);
    }

    [Fact]
    public void SampledRowsUseTheirOwnSeed()
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder("qwen3"));
        var options = new GenerationOptions { MaxNewTokens = 10, StopTokens = [], Greedy = false, Temperature = 1.5f, Seed = 40 };
        var batched = model.GenerateBatch(Prompts, options);
        for (int r = 0; r < Prompts.Length; r++)
            Assert.Equal(model.Generate(Prompts[r], options with { Seed = 40 + (ulong)r }), batched[r]);
    }

    [Fact]
    public void AMaskOfTheWrongLengthOrWithOtherValuesIsRefused()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(), new TensorRandom(1));
        using var _ = Tensor.NoGrad();
        Assert.Contains("need 6", Assert.Throws<ArgumentException>(() => model.Forward([1, 2, 3, 4, 5, 6], 2, 3, [1, 1, 1, 1])).Message);
        Assert.Contains("0 or 1", Assert.Throws<ArgumentException>(() => model.Forward([1, 2, 3, 4, 5, 6], 2, 3, [1, 1, 1, 0, 2, 1])).Message);
        Assert.Throws<ArgumentException>(() => model.GenerateBatch([[1, 2], []]));
    }
}
