using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Optim;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Models.Tests.Llama;

public class LlamaModuleTests
{
    [Fact]
    public void ParameterNamesAreHuggingFaces()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(modelType: "qwen2"));
        var names = model.StateDict().Keys.ToList();
        Assert.Equal("model.embed_tokens.weight", names[0]);
        Assert.Contains("model.layers.1.self_attn.q_proj.bias", names);
        Assert.DoesNotContain("model.layers.1.self_attn.o_proj.bias", names);
        Assert.Contains("model.layers.0.post_attention_layernorm.weight", names);
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", names);
        Assert.Equal(["model.norm.weight", "lm_head.weight"], names[^2..]);
        Assert.Equal(2 * 12 + 3, names.Count); // per layer: 2 norms, q/k/v weight + bias, o weight, 3 MLP weights
    }

    [Theory]
    [InlineData("llama", false, false)]
    [InlineData("llama", true, true)]
    [InlineData("qwen2", true, false)]
    [InlineData("mistral", false, true)]
    public void TheCheckpointLayoutListsExactlyTheModelsTensors(string modelType, bool tied, bool biases)
    {
        var config = LlamaFixtures.TinyConfig(tied, modelType) with { MlpBias = biases };
        if (modelType != "qwen2") config = config with { QkvBias = biases, OutputProjectionBias = biases };
        var state = new LlamaForCausalLM(config).StateDict().Where(p => !(tied && p.Key == "lm_head.weight")).ToList();
        var expected = LlamaCheckpoint.ExpectedTensors(config);
        Assert.Equal(state.Select(p => p.Key), expected.Keys);
        foreach (var (name, tensor) in state)
            Assert.Equal(tensor.ShapeArray(), expected[name]);
    }

    [Fact]
    public void AReplacedProjectionIsUsedByTheForwardPass()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(), new TensorRandom(2));
        using var _ = Tensor.NoGrad();
        var before = model.Forward([1, 2, 3], 1, 3).ToArray();
        var original = (Linear)model.GetSubmodule("model.layers.0.self_attn.v_proj");
        var wrapper = new ScaledLinear(original, 0f);
        model.ReplaceSubmodule("model.layers.0.self_attn.v_proj", wrapper);
        var after = model.Forward([1, 2, 3], 1, 3).ToArray();
        Assert.Equal(1, wrapper.Calls);
        Assert.NotEqual(before, after);
        model.ReplaceSubmodule("model.layers.0.self_attn.v_proj", new ScaledLinear(original, 1f));
        TensorAssert.BitEqual(before, model.Forward([1, 2, 3], 1, 3).ToArray(), "identity wrapper");
    }

    [Fact]
    public void TrainingLowersTheLossAndEveryParameterGetsAGradient()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(tied: true, modelType: "qwen2"), new TensorRandom(4));
        model.Train();
        // Two right-padded sequences: the padding (id 0) is labelled −100 and left out of the loss.
        int[] ids = [1, 5, 6, 7, 5, 6, 7, 5, 1, 9, 8, 9, 8, 9, 0, 0];
        int[] labels = [1, 5, 6, 7, 5, 6, 7, 5, 1, 9, 8, 9, 8, 9, -100, -100];
        var optimizer = new AdamW(model.TrainableParameters(), learningRate: 1e-2, weightDecay: 0);
        float first = 0, last = 0;
        for (int step = 0; step < 15; step++)
        {
            optimizer.ZeroGrad();
            var loss = model.Loss(ids, labels, 2, 8);
            loss.Backward();
            if (step == 0)
            {
                first = loss.Item();
                foreach (var (name, p) in model.NamedParameters())
                    Assert.True(p.Grad is not null && p.Grad.ToArray().Any(g => g != 0), $"{name} got no gradient");
            }
            last = loss.Item();
            optimizer.Step();
        }
        Assert.True(last < 0.5f * first, $"loss went from {first} to {last}");
    }

    [Fact]
    public void LoraOnAllLinearLayersTrainsOnlyTheAdapterAndLowersTheLoss()
    {
        var model = LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder("llama-bf16"));
        model.ApplyLora(rank: 4, alpha: 8, targetRegex: "all-linear");
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        Assert.IsType<LoraLinear>(modules["model.layers.0.self_attn.q_proj"]);
        Assert.IsType<LoraLinear>(modules["model.layers.1.mlp.down_proj"]);
        Assert.IsNotType<LoraLinear>(modules["lm_head"]);
        Assert.All(model.NamedParameters().Where(p => p.Parameter.RequiresGrad), p => Assert.Contains("lora_", p.Name));

        model.Train();
        int[] ids = [1, 17, 42, 99, 3, 17, 42, 99, 3, 17, 42, 99];
        var optimizer = new AdamW(model.TrainableParameters(), learningRate: 1e-2, weightDecay: 0);
        float first = 0, last = 0;
        for (int step = 0; step < 12; step++)
        {
            optimizer.ZeroGrad();
            var loss = model.Loss(ids, ids, 1, ids.Length);
            loss.Backward();
            if (step == 0) first = loss.Item();
            last = loss.Item();
            optimizer.Step();
        }
        Assert.True(last < 0.5f * first, $"loss went from {first} to {last}");
    }

    [Fact]
    public void LossIgnoresLabelsOfMinus100AndShiftsByOne()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(), new TensorRandom(6));
        using var _ = Tensor.NoGrad();
        int[] ids = [1, 4, 9, 16];
        var logits = model.Forward(ids, 1, 4);
        // Only position 1 → label 9 counts.
        float expected = Ops.CrossEntropy(logits.Reshape(4, 50).Slice(1, 1), [9]).Item();
        Assert.Equal(expected, model.Loss(ids, [-100, -100, 9, -100], 1, 4).Item(), 6);
    }

    /// <summary>Wraps a Linear and scales its output, standing in for a LoRA wrapper.</summary>
    private sealed class ScaledLinear : Module
    {
        private readonly float _scale;

        public ScaledLinear(Linear inner, float scale)
        {
            _scale = scale;
            RegisterModule("base_layer", inner);
        }

        public int Calls { get; private set; }

        public override Tensor Forward(Tensor input)
        {
            Calls++;
            var y = Child<Module>("base_layer").Forward(input);
            return Ops.MulScalar(y, _scale);
        }
    }

    [Fact]
    public void Adapters_on_a_Llama_model_are_saved_with_task_type_CAUSAL_LM()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(), new TensorRandom(5));
        model.ApplyLora(rank: 2, alpha: 4);
        Assert.Equal("CAUSAL_LM", model.AdapterConfigs()["default"].TaskType);
        using var folder = new TempFolder();
        model.SaveAdapter(folder.Path);
        Assert.Contains("\"task_type\": \"CAUSAL_LM\"", File.ReadAllText(folder.File("adapter_config.json")));
    }
}
