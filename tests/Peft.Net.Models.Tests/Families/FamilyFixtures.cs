using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Models.Tests.Families;

/// <summary>The tiny Qwen3 / Gemma 2 / Gemma 3 / Phi-3 checkpoints made by tests/fixtures/make_families.py and their PyTorch outputs.</summary>
internal static class FamilyFixtures
{
    public static readonly TheoryData<string> Variants = new() { "qwen3", "gemma2", "gemma3", "phi3" };

    /// <summary>The model folder fixtures/families/&lt;variant&gt; beside the test assembly.</summary>
    public static string Folder(string variant) => Path.Combine(AppContext.BaseDirectory, "fixtures", "families", variant);

    public static Fixture Expected(string variant) => Fixture.Load("families", variant);

    public static int[] Ints(Fixture fixture, string name) => fixture.Meta.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static int[][] Rows(Fixture fixture, string name) =>
        fixture.Meta.GetProperty(name).EnumerateArray().Select(row => row.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();

    public static int[] Flatten(Fixture fixture, string name) => Rows(fixture, name).SelectMany(r => r).ToArray();

    /// <summary>PEFT's usual LoRA targets per family: q_proj/v_proj (its default), Phi-3's fused layers named explicitly.</summary>
    public static string[] LoraTargets(string variant) =>
        variant == "phi3" ? ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"] : ["q_proj", "v_proj"];
}
