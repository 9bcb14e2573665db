using Peft.Net.Core;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Models;
using Peft.Net.Models.Tests.Gguf;

namespace Peft.Net.LlamaCpp.Tests;

/// <summary>Peft.Net's F32 GGUF export run by llama.cpp gives Peft.Net's own greedy ids.</summary>
public sealed class ExportOracleTests
{
    private static readonly int[] Prompt = [1, 17, 42, 99, 3, 250, 7, 200, 5, 64];

    [Fact]
    public void Random_gqa_llama_export_gives_the_same_greedy_ids_in_llama_cpp()
    {
        using var temp = new TempFolder();
        var model = OracleModels.RandomGqaLlama();
        model.Eval();
        string path = OracleModels.Export(model, temp.Path, "gqa");
        using var llama = new LlamaCppRunner(path);
        Assert.Equal(OracleModels.Greedy(model, Prompt, 24), llama.Greedy(Prompt, 24));
        AssertLogitsClose(OracleModels.Logits(model, Prompt), llama.Logits(Prompt));
    }

    [Theory]
    [InlineData("llama")] // llama3 rope scaling (rope_freqs.weight), untied head
    [InlineData("qwen2")] // GQA 4/2, q/k/v biases, tied head, no permutation (NEOX rope)
    public void Fixture_checkpoint_export_gives_the_same_greedy_ids_in_llama_cpp(string variant)
    {
        using var temp = new TempFolder();
        var model = LlamaForCausalLM.FromPretrained(GgufTestFiles.LlamaFixture(variant), DType.F32);
        string path = OracleModels.Export(model, temp.Path, variant);
        using var llama = new LlamaCppRunner(path);
        Assert.Equal(OracleModels.Greedy(model, Prompt, 24), llama.Greedy(Prompt, 24));
        AssertLogitsClose(OracleModels.Logits(model, Prompt), llama.Logits(Prompt));
    }

    /// <summary>llama.cpp keeps K/V in F16 and sums in another order: logits agree to a small fraction of their range.</summary>
    internal static void AssertLogitsClose(float[] ours, float[] theirs, double relative = 2e-3)
    {
        Assert.Equal(ours.Length, theirs.Length);
        double scale = ours.Max(Math.Abs), max = ours.Zip(theirs).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(max <= relative * scale, $"logits differ by up to {max} (largest |logit| {scale}, allowed {relative * scale})");
    }
}
