using Peft.Net.Core.Nn;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Adapters;

public class TargetingTests
{
    private static string[] Adapted(Module model) => PeftModelExtensions.LoraLayers(model).Select(l => l.Path).ToArray();

    private static string[] Layer(int i, params string[] names) => names.Select(n => $"model.layers.{i}.{n}").ToArray();

    [Fact]
    public void ASuffixListMatchesExactNamesAndDottedSuffixesOnly()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(targetModules: ["q_proj", "mlp.up_proj", "model.layers.1.self_attn.o_proj", "_proj"]);
        Assert.Equal([.. Layer(0, "self_attn.q_proj", "mlp.up_proj"), .. Layer(1, "self_attn.q_proj", "self_attn.o_proj", "mlp.up_proj")], Adapted(model));
        Assert.IsType<LoraLinear>(model.GetSubmodule("model.layers.0.self_attn.q_proj"));
        Assert.IsType<Linear>(model.GetSubmodule("model.layers.0.self_attn.k_proj"));
    }

    [Fact]
    public void ARegexMustMatchTheWholeName()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(targetRegex: @".*\.1\.self_attn\.(k|v)_proj");
        Assert.Equal(Layer(1, "self_attn.k_proj", "self_attn.v_proj"), Adapted(model));

        var partial = new TinyCausalLm();
        var e = Assert.Throws<ArgumentException>(() => partial.ApplyLora(targetRegex: "q_proj"));   // fullmatch: "q_proj" alone names nothing
        Assert.Contains("matched no module", e.Message);
    }

    [Fact]
    public void AllLinearTakesEveryLinearLayerButTheLmHead()
    {
        var model = new TinyCausalLm();
        var summary = model.ApplyLora(targetRegex: "ALL-LINEAR");
        var expected = Enumerable.Range(0, 2).SelectMany(i => Layer(i, "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
            "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")).ToArray();
        Assert.Equal(expected, Adapted(model));
        Assert.IsType<Linear>(model.GetSubmodule("lm_head"));
        // 14 targets (< 20): the saved config lists the full names, as PEFT does.
        Assert.Equal(expected, model.AdapterConfigs()["default"].TargetModules);
        Assert.Null(model.AdapterConfigs()["default"].TargetModulesRegex);
        Assert.True(summary.TrainableParameters > 0);
    }

    [Fact]
    public void AllLinearWithTwentyOrMoreTargetsSavesPeftsCondensedSuffixes()
    {
        var model = new TinyCausalLm(layers: 3);
        model.ApplyLora(targetRegex: LoraConfig.AllLinear);
        Assert.Equal(21, Adapted(model).Length);
        Assert.Equal(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], model.AdapterConfigs()["default"].TargetModules);
    }

    [Fact]
    public void WithoutTargetsApplyLoraUsesAllLinear()
    {
        var model = new TinyCausalLm();
        model.ApplyLora();
        Assert.Equal(14, Adapted(model).Length);
        Assert.IsType<Linear>(model.GetSubmodule("lm_head"));
    }

    [Fact]
    public void RankAndAlphaPatternsUsePeftsFirstMatchingKey()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "down_proj"],
            rankPattern: new Dictionary<string, int> { ["down_proj"] = 2, [@"layers\.1\.self_attn\.q_proj"] = 6, ["q_proj"] = 3 },
            alphaPattern: new Dictionary<string, float> { ["^model.layers.0.self_attn.v_proj"] = 1 });
        ILoraLayer At(string path) => (ILoraLayer)model.GetSubmodule(path);
        Assert.Equal(2, At("model.layers.0.mlp.down_proj").GetOptions("default").Rank);
        Assert.Equal(3, At("model.layers.0.self_attn.q_proj").GetOptions("default").Rank);
        Assert.Equal(6, At("model.layers.1.self_attn.q_proj").GetOptions("default").Rank);
        Assert.Equal(4, At("model.layers.1.self_attn.v_proj").GetOptions("default").Rank);
        Assert.Equal(1f / 4, At("model.layers.0.self_attn.v_proj").GetScaling("default"));
        Assert.Equal(8f / 2, At("model.layers.0.mlp.down_proj").GetScaling("default"));
        Assert.Equal([2, 16], LoraMatrices.Get(At("model.layers.0.mlp.down_proj"), "default").B.ShapeArray().Reverse());
    }

    [Fact]
    public void ExcludeModulesAndLayersToTransformNarrowTheMatch()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(new LoraConfig { TargetModules = ["q_proj", "k_proj", "v_proj"], ExcludeModules = ["k_proj"], LayersToTransform = [1], LayersPattern = ["layers"] });
        Assert.Equal(Layer(1, "self_attn.q_proj", "self_attn.v_proj"), Adapted(model));
    }

    [Fact]
    public void TheEmbeddingCanBeATarget()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(targetModules: ["embed_tokens"]);
        Assert.IsType<LoraEmbedding>(model.GetSubmodule("model.embed_tokens"));
    }

    [Fact]
    public void ContainersAndUnmatchedTargetsAreClearErrorsAndLeaveTheModelUnchanged()
    {
        var model = new TinyCausalLm();
        var names = model.StateDict().Keys.ToArray();
        var container = Assert.Throws<ArgumentException>(() => model.ApplyLora(targetModules: ["q_proj", "mlp"]));
        Assert.Contains("'model.layers.0.mlp'", container.Message);
        var none = Assert.Throws<ArgumentException>(() => model.ApplyLora(targetModules: ["query_key_value"]));
        Assert.Contains("[query_key_value] matched no module of the TinyCausalLm", none.Message);
        Assert.Contains("model.embed_tokens", none.Message);
        Assert.Throws<ArgumentException>(() => model.ApplyLora(rank: 0, targetModules: ["q_proj"]));
        Assert.Equal(names, model.StateDict().Keys.ToArray());
        Assert.Empty(model.AdapterConfigs());
    }
}
