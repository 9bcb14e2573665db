using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Neftune;

namespace Peft.Net.Tests.Adapters;

public class PeftModelTests
{
    private static readonly int[,] Ids = AdapterTestData.Ids;

    [Fact]
    public void TheSummaryCountsLoraParametersAsTrainableAndPrintsLikePeft()
    {
        var model = new TinyCausalLm();
        long before = model.ParameterCount();
        var summary = model.ApplyLora(rank: 4, targetModules: ["q_proj", "down_proj"]);
        // q_proj: A [4,16] + B [16,4]; down_proj: A [4,24] + B [16,4]; two layers.
        long lora = 2 * ((4 * 16 + 16 * 4) + (4 * 24 + 16 * 4));
        Assert.Equal(lora, summary.TrainableParameters);
        Assert.Equal(before + lora, summary.AllParameters);
        Assert.Equal($"trainable params: {lora:N0} || all params: {before + lora:N0} || trainable%: {100.0 * lora / (before + lora):F4}", summary.ToString());
        Assert.Equal("trainable params: 1,234 || all params: 56,789 || trainable%: 2.1730", new PeftSummary(1234, 56789).ToString());
    }

    [Fact]
    public void QuantizedWeightsCountByTheirElements()
    {
        var model = new TinyCausalLm();
        long all = model.ParameterCount();
        var q = (Linear)model.GetSubmodule("model.layers.0.self_attn.q_proj");
        model.ReplaceSubmodule("model.layers.0.self_attn.q_proj", Peft.Net.Quantization.Nf4Linear.FromLinear(q, blockSize: 64));
        var summary = model.ApplyLora(rank: 2, targetModules: ["q_proj"]);
        Assert.Equal(all + 2 * (2 * 16 + 16 * 2), summary.AllParameters);
        Assert.Equal(2 * (2 * 16 + 16 * 2), summary.TrainableParameters);
    }

    [Fact]
    public void OnlyTheActiveAdapterTrains()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(targetModules: ["q_proj"]);
        Assert.All(AdapterTestData.TrainableNames(model), n => Assert.Matches(@"^model\.layers\.\d\.self_attn\.q_proj\.lora_[AB]\.default\.weight$", n));
        Assert.Equal(4, AdapterTestData.TrainableNames(model).Length);

        model.ApplyDora(targetModules: ["q_proj", "v_proj"], adapterName: "second");
        Assert.Equal("default", model.ActiveAdapter());
        Assert.All(AdapterTestData.TrainableNames(model), n => Assert.Contains(".default.", n));

        model.SetAdapter("second");
        var trainable = AdapterTestData.TrainableNames(model);
        Assert.Equal(12, trainable.Length);   // A, B, magnitude on q and v in two layers
        Assert.All(trainable, n => Assert.Contains(".second.", n));
        Assert.Contains("model.layers.1.self_attn.v_proj.lora_magnitude_vector.second.weight", trainable);
    }

    [Fact]
    public void GradientsReachOnlyTheAdapter()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(targetModules: ["q_proj", "embed_tokens"]);
        AdapterTestData.Randomize(model, "default", 8);
        var ids = Tensor.Empty(DType.I32, 1, 3);
        ids.AsSpan<int>().Fill(2);
        Ops.Sum(model.Forward(ids)).Backward();
        foreach (var (name, p) in model.NamedParameters())
        {
            if (p.RequiresGrad) Assert.True(p.Grad is not null && p.Grad.ToArray().Any(v => v != 0), $"{name} should get a gradient");
            else Assert.Null(p.Grad);
        }
    }

    [Fact]
    public void TwoAdaptersSwitchDisableAndDelete()
    {
        var model = new TinyCausalLm();
        var baseLogits = model.Logits(Ids).ToArray();
        model.ApplyLora(targetModules: ["q_proj", "v_proj"], adapterName: "a");
        model.ApplyLora(rank: 2, targetModules: ["v_proj", "up_proj"], adapterName: "b");
        AdapterTestData.Randomize(model, "a", 1);
        AdapterTestData.Randomize(model, "b", 2);

        var logitsA = model.Logits(Ids).ToArray();
        model.SetAdapter("b");
        var logitsB = model.Logits(Ids).ToArray();
        Assert.NotEqual(baseLogits, logitsA);
        Assert.NotEqual(logitsA, logitsB);
        // q_proj has only "a": with "b" active it runs its base.
        Assert.Empty(((ILoraLayer)model.GetSubmodule("model.layers.0.self_attn.q_proj")).ActiveAdapters);

        using (model.DisableAdapters())
            TensorAssert.BitEqual(baseLogits, model.Logits(Ids).ToArray(), "adapters disabled");
        TensorAssert.BitEqual(logitsB, model.Logits(Ids).ToArray(), "after the scope");

        model.DeleteAdapter("b");
        Assert.Equal("a", model.ActiveAdapter());
        Assert.Equal(["a"], model.AdapterConfigs().Keys);
        Assert.DoesNotContain(model.StateDict().Keys, k => k.Contains(".b."));
        TensorAssert.BitEqual(logitsA, model.Logits(Ids).ToArray(), "after deleting b");
        Assert.Throws<ArgumentException>(() => model.SetAdapter("b"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MergeAndUnloadGivesPlainLayersWithTheAdaptersOutput(bool dora)
    {
        var model = new TinyCausalLm();
        if (dora) model.ApplyDora(rank: 4, alpha: 8, targetModules: ["q_proj", "o_proj", "down_proj", "embed_tokens"]);
        else model.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "o_proj", "down_proj", "embed_tokens"]);
        AdapterTestData.Randomize(model, "default", 3);
        model.Eval();
        var adapted = model.Logits(Ids).ToArray();

        var same = model.MergeAndUnload();
        Assert.Same(model, same);
        Assert.Empty(PeftModelExtensions.LoraLayers(model));
        Assert.IsType<Linear>(model.GetSubmodule("model.layers.0.self_attn.q_proj"));
        Assert.IsType<Embedding>(model.GetSubmodule("model.embed_tokens"));
        Assert.IsType<Linear>(model.GetSubmodule("model.layers.1.mlp.down_proj"));
        Assert.Equal(new TinyCausalLm().StateDict().Keys, model.StateDict().Keys);
        Assert.Empty(model.AdapterConfigs());
        TensorAssert.Close(adapted, model.Logits(Ids).ToArray(), atol: 2e-5, rtol: 2e-5, what: "merged model");
    }

    [Fact]
    public void PissaOnAnEmbeddingIsRefusedBeforeAnythingChanges()
    {
        var model = new TinyCausalLm();
        var e = Assert.Throws<NotSupportedException>(() => model.ApplyLora(targetModules: ["q_proj", "embed_tokens"], init: LoraInit.PiSSA));
        Assert.Contains("'model.embed_tokens'", e.Message);
        Assert.Empty(PeftModelExtensions.LoraLayers(model));
    }

    [Fact]
    public void MergeAdapterAndUnmergeKeepTheWrappers()
    {
        var model = new TinyCausalLm();
        var baseLogits = model.Logits(Ids).ToArray();
        model.ApplyLora(targetModules: ["k_proj", "gate_proj"]);
        AdapterTestData.Randomize(model, "default", 4);
        var adapted = model.Logits(Ids).ToArray();
        model.MergeAdapter();
        Assert.All(PeftModelExtensions.LoraLayers(model), l => Assert.Equal(["default"], l.Layer.MergedAdapters));
        TensorAssert.Close(adapted, model.Logits(Ids).ToArray(), atol: 2e-5, rtol: 2e-5, what: "merged in place");
        model.UnmergeAdapter();
        TensorAssert.Close(adapted, model.Logits(Ids).ToArray(), atol: 2e-5, rtol: 2e-5, what: "unmerged");
        model.Unload();
        TensorAssert.Close(baseLogits, model.Logits(Ids).ToArray(), atol: 2e-5, rtol: 2e-5, what: "unloaded");
        Assert.IsType<Linear>(model.GetSubmodule("model.layers.0.self_attn.k_proj"));
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("cat")]
    public void WeightedAdaptersFollowPeftsFormulas(string combination)
    {
        var model = new TinyCausalLm();
        model.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "up_proj"], adapterName: "a");
        model.ApplyLora(rank: 4, alpha: 2, useRsLora: true, targetModules: ["q_proj", "up_proj"], adapterName: "b");
        AdapterTestData.Randomize(model, "a", 5);
        AdapterTestData.Randomize(model, "b", 6);
        float wa = 0.7f, wb = -1.3f;
        model.AddWeightedAdapter(["a", "b"], [wa, wb], "mix", combination);

        var config = model.AdapterConfigs()["mix"];
        int newRank = combination == "cat" ? 8 : 4;
        Assert.Equal(newRank, config.R);
        Assert.Equal(newRank, config.LoraAlpha);
        Assert.Equal("a", model.ActiveAdapter());
        foreach (var (path, layer) in PeftModelExtensions.LoraLayers(model))
        {
            var (a1, b1) = LoraMatrices.Get(layer, "a");
            var (a2, b2) = LoraMatrices.Get(layer, "b");
            var (am, bm) = LoraMatrices.Get(layer, "mix");
            Assert.Equal(1f, layer.GetScaling("mix"));
            Assert.Equal(newRank, am.Dim(0));
            float s1 = wa * layer.GetScaling("a"), s2 = wb * layer.GetScaling("b");
            if (combination == "cat")
            {
                // Exactly the weighted sum of the deltas: ΔW_mix = w_a·ΔW_a + w_b·ΔW_b.
                var expected = Sum(Delta(b1, a1, s1), Delta(b2, a2, s2));
                TensorAssert.Close(expected, Delta(bm, am, 1), atol: 1e-5, rtol: 1e-5, what: path);
            }
            else
            {
                // PEFT: A = Σ sign(w·s)·√|w·s|·A_i, B = Σ √|w·s|·B_i.
                var expectedA = Sum(Scaled(a1, MathF.Sign(s1) * MathF.Sqrt(MathF.Abs(s1))), Scaled(a2, MathF.Sign(s2) * MathF.Sqrt(MathF.Abs(s2))));
                var expectedB = Sum(Scaled(b1, MathF.Sqrt(MathF.Abs(s1))), Scaled(b2, MathF.Sqrt(MathF.Abs(s2))));
                TensorAssert.Close(expectedA, am.ToArray(), atol: 1e-6, rtol: 1e-6, what: path + " A");
                TensorAssert.Close(expectedB, bm.ToArray(), atol: 1e-6, rtol: 1e-6, what: path + " B");
            }
        }
    }

    [Fact]
    public void WeightedAdapterErrors()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(rank: 4, targetModules: ["q_proj"], adapterName: "a");
        model.ApplyLora(rank: 2, targetModules: ["q_proj"], adapterName: "b");
        Assert.Contains("equal rank", Assert.Throws<ArgumentException>(() => model.AddWeightedAdapter(["a", "b"], [1, 1], "m")).Message);
        Assert.Throws<ArgumentException>(() => model.AddWeightedAdapter(["a", "zzz"], [1, 1], "m", "cat"));
        Assert.Throws<ArgumentException>(() => model.AddWeightedAdapter(["a"], [1, 1], "m", "cat"));
        Assert.Throws<NotSupportedException>(() => model.AddWeightedAdapter(["a", "b"], [1, 1], "m", "svd"));
        Assert.Equal(["a", "b"], model.AdapterConfigs().Keys);
    }

    [Fact]
    public void ModulesToSaveTrainsACopyOfTheModule()
    {
        var model = new TinyCausalLm();
        var original = model.GetSubmodule("lm_head");
        var baseLogits = model.Logits(Ids).ToArray();
        model.ApplyLora(targetModules: ["q_proj"], modulesToSave: ["lm_head"]);
        var wrapper = Assert.IsType<ModulesToSaveWrapper>(model.GetSubmodule("lm_head"));
        Assert.Same(original, wrapper.OriginalModule);
        var trainable = AdapterTestData.TrainableNames(model);
        Assert.Contains("lm_head.modules_to_save.default.weight", trainable);
        Assert.DoesNotContain("lm_head.original_module.weight", trainable);
        // Changing the copy changes the output; disabling adapters runs the original.
        ((Linear)wrapper.GetCopy("default")).Weight.AsSpan()[0] += 1;
        Assert.NotEqual(baseLogits, model.Logits(Ids).ToArray());
        using (model.DisableAdapters())
            TensorAssert.BitEqual(baseLogits, model.Logits(Ids).ToArray(), "disabled");
        model.MergeAndUnload();
        Assert.Same(wrapper.GetCopy("default"), model.GetSubmodule("lm_head"));
    }

    [Fact]
    public void NeftuneWrapsTheInputEmbeddingInTrainingOnly()
    {
        var model = new TinyCausalLm();
        var baseLogits = model.Logits(Ids).ToArray();
        model.ApplyLora(targetModules: ["q_proj"]);
        model.EnableNeftune(5f);
        Assert.IsType<NeftuneEmbedding>(model.GetSubmodule("model.embed_tokens"));
        Assert.Contains("model.embed_tokens.weight", model.StateDict().Keys);
        model.Train();
        Assert.NotEqual(baseLogits, model.Logits(Ids).ToArray());
        model.Eval();
        TensorAssert.BitEqual(baseLogits, model.Logits(Ids).ToArray(), "eval mode: no noise (B = 0)");
        model.EnableNeftune(10f);
        Assert.Equal(10f, ((NeftuneEmbedding)model.GetSubmodule("model.embed_tokens")).NoiseAlpha);
        model.DisableNeftune();
        Assert.IsType<Embedding>(model.GetSubmodule("model.embed_tokens"));
    }

    private static float[] Delta(Tensor b, Tensor a, float scale)
    {
        using var _ = Tensor.NoGrad();
        return Scaled(Ops.MatMul(b, a), scale);
    }

    private static float[] Scaled(Tensor t, float scale) => t.ToArray().Select(v => v * scale).ToArray();

    private static float[] Sum(float[] x, float[] y) => x.Zip(y, (p, q) => p + q).ToArray();
}
