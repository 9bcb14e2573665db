using Peft.Net.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp.Tests;

public sealed class SurgeryTests
{
    [Fact]
    public void All_linear_reaches_fields_module_lists_sequentials_and_module_dicts_but_not_the_head()
    {
        torch.manual_seed(1);
        var model = new TinyLm();
        var keysBefore = model.state_dict().Keys.ToList();
        using var ids = torch.tensor(new long[] { 1, 5, 9, 2, 33, 7 }, [2, 3]);
        var before = Parity.Values(model.call(ids));

        var summary = model.ApplyLora(rank: 4, alpha: 8);

        Assert.IsType<LoraLinear>(model.layers[0].GetType() == typeof(Attention) ? ((Attention)model.layers[0]).q_proj : null);
        Assert.IsType<LoraLinear>(((Attention)model.layers[1]).o_proj);
        Assert.IsType<LoraLinear>(model.heads["score"]);
        Assert.IsType<Linear>(model.lm_head);
        var keys = model.state_dict().Keys.ToList();
        Assert.Contains("layers.0.q_proj.base_layer.weight", keys);
        Assert.Contains("layers.0.q_proj.lora_A.default.weight", keys);
        Assert.Contains("layers.1.o_proj.lora_B.default.weight", keys);
        Assert.Contains("mlp.up_proj.lora_A.default.weight", keys);
        Assert.Contains("mlp.down_proj.base_layer.bias", keys);
        Assert.Contains("heads.score.lora_B.default.weight", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("lm_head.lora", StringComparison.Ordinal));
        // The base keys keep their order, each now under base_layer.
        var baseKeys = keys.Where(k => !k.Contains(".lora_", StringComparison.Ordinal)).Select(k => k.Replace(".base_layer", "")).ToList();
        Assert.Equal(keysBefore, baseKeys);
        // B = 0: the output is unchanged, and the forward pass really runs through the new layers.
        Assert.True(Parity.RelativeError(Parity.Values(model.call(ids)), before) < 1e-6);
        Assert.Equal(summary.TrainableParameters, model.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));
        Assert.StartsWith("trainable params: ", summary.ToString());
        var trainableNames = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.All(trainableNames, n => Assert.Contains(".lora_", n));
        Assert.Equal(2 * 4 + 2 + 1, trainableNames.Count / 2);
    }

    [Fact]
    public void Nonzero_adapters_change_the_output_through_every_container()
    {
        torch.manual_seed(2);
        var model = new TinyLm();
        model.ApplyLora(rank: 2, targetModules: ["q_proj", "down_proj", "score"]);
        using var ids = torch.tensor(new long[] { 3, 4 }, [1, 2]);
        var before = Parity.Values(model.call(ids));
        foreach (var path in new[] { "layers.0.q_proj", "mlp.down_proj", "heads.score" })
        {
            var layer = (LoraLinear)ModuleTree.Get(model, path);
            using (torch.no_grad()) layer.LoraB("default").fill_(0.5);
            var after = Parity.Values(model.call(ids));
            Assert.True(Parity.RelativeError(after, before) > 1e-3, $"{path}: the adapter does not reach the forward pass");
            before = after;
        }
    }

    [Fact]
    public void Target_lists_regexes_exclusions_layers_to_transform_and_patterns_follow_peft()
    {
        var model = new Nested(layerCount: 3);
        model.ApplyLora(new LoraConfig
        {
            R = 4,
            TargetModules = ["q_proj", "v_proj"],
            ExcludeModules = ["model.layers.0.v_proj"],
            LayersToTransform = [0, 2],
            LayersPattern = ["layers"],
            RankPattern = new OrderedDictionary<string, int> { ["v_proj"] = 2 },
        });
        var adapted = TorchTargets.Candidates(model).Where(c => c.Module is LoraLinear).Select(c => c.Path).ToList();
        Assert.Equal(["model.layers.0.q_proj", "model.layers.2.q_proj", "model.layers.2.v_proj"], adapted);
        Assert.Equal(2, ((LoraLinear)ModuleTree.Get(model, "model.layers.2.v_proj")).GetOptions("default").Rank);
        Assert.Equal(4, ((LoraLinear)ModuleTree.Get(model, "model.layers.2.q_proj")).GetOptions("default").Rank);

        var regexModel = new TinyLm();
        regexModel.ApplyLora(targetRegex: @"layers\.1\..*_proj");
        Assert.Equal(4, TorchTargets.Candidates(regexModel).Count(c => c.Module is LoraLinear));
    }

    [Fact]
    public void A_field_typed_as_the_sealed_Linear_is_refused_with_its_path_and_the_fix()
    {
        var model = new SealedFieldModel();
        var error = Assert.Throws<InvalidOperationException>(() => model.ApplyLora(targetModules: ["proj"]));
        Assert.Contains("'proj'", error.Message);
        Assert.Contains("sealed", error.Message);
        Assert.Contains("nn.Module<Tensor, Tensor>", error.Message);
        Assert.IsType<Linear>(model.proj);
    }

    [Fact]
    public void Targets_that_match_nothing_or_are_not_linear_give_clear_errors_and_leave_the_model_alone()
    {
        var model = new TinyLm();
        var none = Assert.Throws<ArgumentException>(() => model.ApplyLora(targetModules: ["nope"]));
        Assert.Contains("matched no module", none.Message);
        var act = Assert.Throws<ArgumentException>(() => model.ApplyLora(targetModules: ["act"]));
        Assert.Contains("'mlp.act'", act.Message);
        Assert.DoesNotContain(model.state_dict().Keys, k => k.Contains("lora_", StringComparison.Ordinal));
    }

    [Fact]
    public void Modules_to_save_are_copied_and_trained_under_peft_names()
    {
        var model = new TinyLm();
        model.ApplyLora(targetModules: ["q_proj"], modulesToSave: ["lm_head"]);
        var keys = model.state_dict().Keys.ToList();
        Assert.Contains("lm_head.original_module.weight", keys);
        Assert.Contains("lm_head.modules_to_save.default.weight", keys);
        Assert.Contains(model.named_parameters(), p => p.name == "lm_head.modules_to_save.default.weight" && p.parameter.requires_grad);
        Assert.Contains(model.named_parameters(), p => p.name == "lm_head.original_module.weight" && !p.parameter.requires_grad);
    }

    [Fact]
    public void Merge_and_unload_gives_the_plain_model_with_the_same_outputs()
    {
        foreach (bool dora in new[] { false, true })
        {
            torch.manual_seed(5);
            var model = new TinyLm();
            if (dora) model.ApplyDora(rank: 4, alpha: 8); else model.ApplyLora(rank: 4, alpha: 8);
            foreach (var (_, module) in TorchTargets.Candidates(model))
                if (module is LoraLinear l) using (torch.no_grad()) l.LoraB("default").normal_(0, 0.1);
            using var ids = torch.tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
            model.eval();
            var adapted = Parity.Values(model.call(ids));
            var merged = model.MergeAndUnload();
            Assert.Same(model, merged);
            Assert.DoesNotContain(model.state_dict().Keys, k => k.Contains("lora_", StringComparison.Ordinal) || k.Contains("base_layer", StringComparison.Ordinal));
            Assert.True(Parity.RelativeError(Parity.Values(model.call(ids)), adapted) < 1e-5, dora ? "DoRA" : "LoRA");
        }
    }
}
