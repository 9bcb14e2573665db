using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Models.Tests.Families;

/// <summary>config.json of the new families: each family's defaults, the layer patterns, both rope formats, errors.</summary>
public class FamilyConfigTests
{
    private static LlamaConfig Read(string json)
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "config.json");
        File.WriteAllText(path, json);
        return LlamaConfig.Load(path);
    }

    private const string Sizes = """
        "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 7, "num_attention_heads": 4,
        "num_key_value_heads": 2, "vocab_size": 256
        """;

    [Fact]
    public void Gemma2DefaultsAreTheClassDefaults()
    {
        var config = Read($$"""{"model_type": "gemma2", "head_dim": 16, {{Sizes}} }""");
        Assert.True(config.IsGemma);
        Assert.True(config.TieWordEmbeddings);
        Assert.Equal("gelu_pytorch_tanh", config.HiddenActivation);
        Assert.Equal(256, config.QueryPreAttnScalar);
        Assert.Equal(50, config.AttnLogitSoftcapping);
        Assert.Equal(30, config.FinalLogitSoftcapping);
        Assert.Equal(4096, config.SlidingWindow);
        Assert.Equal(["sliding_attention", "full_attention", "sliding_attention", "full_attention", "sliding_attention", "full_attention", "sliding_attention"],
            config.LayerTypes);
        Assert.Equal((float)Math.Pow(256, -0.5), config.AttentionScale);
    }

    [Fact]
    public void NullsInTheFileTurnGemmaFeaturesOff()
    {
        var config = Read($$"""{"model_type": "gemma2", "head_dim": 16, "attn_logit_softcapping": null, "final_logit_softcapping": null, {{Sizes}} }""");
        Assert.Null(config.AttnLogitSoftcapping);
        Assert.Null(config.FinalLogitSoftcapping);
    }

    [Fact]
    public void Gemma3UsesItsPatternAndTwoRopeBases()
    {
        var config = Read($$"""
            {"model_type": "gemma3_text", "head_dim": 16, "rope_scaling": {"rope_type": "linear", "factor": 8.0}, {{Sizes}} }
            """);
        Assert.True(config.HasQkNorm);
        Assert.Equal(1_000_000, config.RopeTheta);
        Assert.Equal(10000, config.RopeLocalBaseFreq);
        Assert.Equal(8, config.LinearRopeScalingFactor);
        Assert.Null(config.AttnLogitSoftcapping);
        Assert.Equal([true, true, true, true, true, false, true], Enumerable.Range(0, 7).Select(config.IsSlidingLayer));
    }

    [Fact]
    public void Gemma3InTheV5FormatReadsRopeParametersPerLayerTypeAndLayerTypes()
    {
        var config = Read($$"""
            {"model_type": "gemma3_text", "head_dim": 16, "sliding_window": 512,
             "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "sliding_attention", "full_attention", "full_attention", "sliding_attention"],
             "rope_parameters": {"sliding_attention": {"rope_type": "default", "rope_theta": 20000.0},
                                 "full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 500000.0} }, {{Sizes}} }
            """);
        Assert.Equal(500000, config.RopeTheta);
        Assert.Equal(20000, config.RopeLocalBaseFreq);
        Assert.Equal(4, config.LinearRopeScalingFactor);
        Assert.Equal(512, config.SlidingWindow);
        Assert.Equal([true, false, true, true, false, false, true], Enumerable.Range(0, 7).Select(config.IsSlidingLayer));
    }

    [Fact]
    public void Qwen3SlidesOnlyFromMaxWindowLayersWhenAskedTo()
    {
        var off = Read($$"""{"model_type": "qwen3", "head_dim": 32, "sliding_window": 4096, {{Sizes}} }""");
        Assert.Null(off.SlidingWindow);
        Assert.True(off.HasQkNorm);
        Assert.Equal(32, off.ResolvedHeadDim);
        var on = Read($$"""{"model_type": "qwen3", "use_sliding_window": true, "sliding_window": 8, "max_window_layers": 5, {{Sizes}} }""");
        Assert.Equal(8, on.SlidingWindow);
        Assert.Equal([false, false, false, false, false, true, true], Enumerable.Range(0, 7).Select(on.IsSlidingLayer));
    }

    [Theory]
    [InlineData("longrope")]
    [InlineData("su")]
    [InlineData("yarn")]
    public void Phi3ReadsLongRopeUnderEachOfItsNames(string type)
    {
        var config = Read($$"""
            {"model_type": "phi3", {{Sizes}}, "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
             "partial_rotary_factor": 0.5, "sliding_window": 2047,
             "rope_scaling": {"type": "{{type}}", "short_factor": [1, 1, 1, 1], "long_factor": [2, 4, 8, 16]} }
            """);
        Assert.True(config.HasFusedProjections);
        Assert.Equal(8, config.RotaryDim);
        Assert.Equal(1e-5, config.RmsNormEps);
        Assert.Equal(2047, config.SlidingWindow);
        Assert.True(config.IsSlidingLayer(6));
        var longRope = Assert.IsType<LongRopeScaling>(config.LongRope);
        Assert.Equal(4096, longRope.OriginalMaxPositionEmbeddings);
        // √(1 + ln 32 / ln 4096) = √(17/12).
        Assert.Equal(Math.Sqrt(17.0 / 12), longRope.ResolvedAttentionFactor(config.MaxPositionEmbeddings), 12);
    }

    [Fact]
    public void Phi3LongRopeFactorsMustCoverHalfTheRotaryDimension()
    {
        var error = Assert.Throws<InvalidDataException>(() => Read($$"""
            {"model_type": "phi3", {{Sizes}}, "rope_scaling": {"type": "longrope", "short_factor": [1, 1], "long_factor": [2, 4]} }
            """));
        Assert.Contains("rotary_dim / 2 = 8", error.Message);
        Assert.Contains("config.json", error.Message);
    }

    [Fact]
    public void UnknownActivationLayerTypeAndRopeTypeAreNamed()
    {
        var activation = Assert.Throws<NotSupportedException>(() =>
            Read($$"""{"model_type": "gemma2", "hidden_activation": "gelu_fast", {{Sizes}} }""")).Message;
        Assert.Contains("gelu_fast", activation);
        Assert.Contains("config.json: ", activation);
        Assert.Contains("chunked_attention", Assert.Throws<InvalidDataException>(() =>
            Read($$"""{"model_type": "gemma2", "layer_types": ["chunked_attention", "full_attention", "full_attention", "full_attention", "full_attention", "full_attention", "full_attention"], {{Sizes}} }""")).Message);
        Assert.Contains("'yarn'", Assert.Throws<NotSupportedException>(() =>
            Read($$"""{"model_type": "qwen3", "rope_scaling": {"rope_type": "yarn", "factor": 4.0}, {{Sizes}} }""")).Message);
        Assert.Contains("layer_types lists 2 layers", Assert.Throws<InvalidDataException>(() =>
            Read($$"""{"model_type": "gemma3_text", "layer_types": ["sliding_attention", "full_attention"], {{Sizes}} }""")).Message);
    }

    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void SaveWritesEveryFamilyKeyBack(string variant)
    {
        var config = LlamaConfig.Load(FamilyFixtures.Folder(variant));
        using var folder = new TempFolder();
        config.Save(folder.Path);
        var again = LlamaConfig.Load(folder.Path);
        Assert.Equal(config.LayerTypes, again.LayerTypes);
        Assert.Equal(config.LongRope?.ShortFactor, again.LongRope?.ShortFactor);
        Assert.Equal(config.LongRope?.LongFactor, again.LongRope?.LongFactor);
        Assert.Equal(config.EosTokenIds, again.EosTokenIds);
        // Lists compare by reference in a record; head_dim is written resolved.
        Assert.Equal(config with { LayerTypes = null, LongRope = null, HeadDim = config.ResolvedHeadDim },
            again with { LayerTypes = null, LongRope = null, EosTokenIds = config.EosTokenIds });
    }
}
