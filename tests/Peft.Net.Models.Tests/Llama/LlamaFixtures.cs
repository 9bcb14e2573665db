using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Models.Tests.Llama;

/// <summary>The tiny checkpoints made by tests/fixtures/make_llama.py and their PyTorch reference outputs.</summary>
internal static class LlamaFixtures
{
    public static readonly TheoryData<string> Variants = new() { "llama", "qwen2", "llama-bf16" };

    /// <summary>The model folder fixtures/llama/&lt;variant&gt; beside the test assembly.</summary>
    public static string Folder(string variant) => Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", variant);

    public static Fixture Expected(string variant) => Fixture.Load("llama", variant);

    public static int[] Ints(Fixture fixture, string name) => fixture.Meta.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static int[] Flatten(Fixture fixture, string name) =>
        fixture.Meta.GetProperty(name).EnumerateArray().SelectMany(row => row.EnumerateArray().Select(e => e.GetInt32())).ToArray();

    /// <summary>A small random config (2 layers, GQA 4/2 heads) for tests that need no reference numbers.</summary>
    public static LlamaConfig TinyConfig(bool tied = false, string modelType = "llama") => new()
    {
        ModelType = modelType,
        HiddenSize = 32,
        IntermediateSize = 48,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 50,
        MaxPositionEmbeddings = 64,
        TieWordEmbeddings = tied,
        QkvBias = modelType == "qwen2",
        EosTokenIds = [2],
        BosTokenId = 1,
    };
}
