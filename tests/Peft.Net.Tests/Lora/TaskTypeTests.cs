using System.Text.Json.Nodes;
using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Tests.Adapters;

namespace Peft.Net.Tests.Lora;

/// <summary>task_type is CAUSAL_LM only for a model that says it is a causal LM; null (PEFT's custom-model value) otherwise.</summary>
public class TaskTypeTests
{
    /// <summary>A two-layer MLP regressor: no language model at all.</summary>
    private sealed class Mlp : Module
    {
        public Mlp()
        {
            var random = new TensorRandom(3);
            RegisterModule("fc1", new Linear(12, 20, bias: true, random));
            RegisterModule("fc2", new Linear(20, 4, bias: true, random));
        }

        public override Tensor Forward(Tensor input) => Child<Module>("fc2").Forward(Ops.Silu(Child<Module>("fc1").Forward(input)));
    }

    private static JsonNode? SavedTaskType(Module model)
    {
        using var folder = new TempFolder();
        model.SaveAdapter(folder.Path);
        var json = JsonNode.Parse(File.ReadAllText(folder.File(AdapterFiles.ConfigFile)))!.AsObject();
        Assert.True(json.ContainsKey("task_type"), "adapter_config.json must carry task_type (null included)");
        return json["task_type"];
    }

    [Fact]
    public void An_adapter_on_a_custom_model_is_saved_with_a_null_task_type()
    {
        var model = new Mlp();
        model.ApplyLora(rank: 2, alpha: 4, targetModules: ["fc1", "fc2"]);
        Assert.Null(model.AdapterConfigs()["default"].TaskType);
        Assert.Null(SavedTaskType(model));
    }

    [Fact]
    public void An_adapter_on_a_causal_language_model_is_saved_as_CAUSAL_LM()
    {
        var model = new TinyCausalLm();
        model.ApplyDora(rank: 2, alpha: 4, targetModules: ["q_proj"]);
        Assert.Equal("CAUSAL_LM", model.AdapterConfigs()["default"].TaskType);
        Assert.Equal("CAUSAL_LM", SavedTaskType(model)!.GetValue<string>());
    }

    [Fact]
    public void A_task_type_the_config_gives_is_kept_whatever_the_model()
    {
        var causal = new TinyCausalLm();
        causal.ApplyLora(new LoraConfig { R = 2, TargetModules = ["v_proj"], TaskType = "FEATURE_EXTRACTION" });
        Assert.Equal("FEATURE_EXTRACTION", causal.AdapterConfigs()["default"].TaskType);
        var mlp = new Mlp();
        mlp.ApplyLora(new LoraConfig { R = 2, TargetModules = ["fc1"], TaskType = "SEQ_CLS" });
        Assert.Equal("SEQ_CLS", SavedTaskType(mlp)!.GetValue<string>());
    }
}
