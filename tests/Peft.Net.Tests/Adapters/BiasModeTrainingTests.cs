using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Optim;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Adapters;

/// <summary>
/// Training with PEFT's <c>bias</c> modes: "all" trains every base bias, "lora_only" the biases of the layers LoRA
/// wraps; they are saved under PEFT's keys and loading the folder puts them back.
/// </summary>
public sealed class BiasModeTrainingTests : IDisposable
{
    private static readonly int[,] Ids = AdapterTestData.Ids;
    private static readonly int[] Targets = [1, 4, 1, 5, 9, 2, 6, 5, 31, 0];   // next tokens of Ids, one per position
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly string[] AllBiases =
    [
        "model.layers.0.self_attn.q_proj.base_layer.bias", "model.layers.0.self_attn.k_proj.bias", "model.layers.0.self_attn.v_proj.base_layer.bias",
        "model.layers.1.self_attn.q_proj.base_layer.bias", "model.layers.1.self_attn.k_proj.bias", "model.layers.1.self_attn.v_proj.base_layer.bias",
    ];

    private static TinyCausalLm WithBias(string mode, ulong seed = 11)
    {
        var model = new TinyCausalLm(seed);
        model.ApplyLora(new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = ["q_proj", "v_proj"], Bias = mode });
        AdapterTestData.Randomize(model, "default", 3);
        return model;
    }

    private static Tensor Loss(TinyCausalLm model)
    {
        int b = Ids.GetLength(0), t = Ids.GetLength(1);
        var ids = Tensor.Empty(DType.I32, b, t);
        for (int i = 0; i < b; i++)
            for (int j = 0; j < t; j++)
                ids.AsSpan<int>()[i * t + j] = Ids[i, j];
        return Ops.CrossEntropy(model.Forward(ids), Targets);
    }

    private static string[] TrainableBiases(TinyCausalLm model) =>
        AdapterTestData.TrainableNames(model).Where(n => n.EndsWith(".bias", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void AllTrainsEveryBaseBiasLoraOnlyTheWrappedLayersAndNoneNothing()
    {
        Assert.Equal(AllBiases.Order(StringComparer.Ordinal), TrainableBiases(WithBias("all")));
        Assert.Equal(AllBiases.Where(n => n.Contains("base_layer")).Order(StringComparer.Ordinal), TrainableBiases(WithBias("lora_only")));
        Assert.Empty(TrainableBiases(WithBias("none")));
        // The base weights stay frozen in every mode.
        Assert.DoesNotContain(AdapterTestData.TrainableNames(WithBias("all")), n => n.EndsWith(".weight", StringComparison.Ordinal) && !n.Contains("lora_"));
    }

    [Fact]
    public void TheBiasGradientIsTheLossSlopeAndAnAdamWStepMovesTheBiases()
    {
        var model = WithBias("all");
        var state = model.StateDict();
        var loss = Loss(model);
        loss.Backward();
        foreach (string key in new[] { "model.layers.0.self_attn.q_proj.base_layer.bias", "model.layers.1.self_attn.k_proj.bias" })
        {
            var bias = state[key];
            Assert.NotNull(bias.Grad);
            foreach (int i in new[] { 0, 7, 15 })
            {
                // Central difference of the loss in float32 (h = 1e-2): the autograd slope must match it.
                float saved = bias.AsSpan()[i];
                double plus, minus;
                using (Tensor.NoGrad())
                {
                    bias.AsSpan()[i] = saved + 1e-2f;
                    plus = Loss(model).Item();
                    bias.AsSpan()[i] = saved - 1e-2f;
                    minus = Loss(model).Item();
                    bias.AsSpan()[i] = saved;
                }
                double numeric = (plus - minus) / 2e-2, analytic = bias.Grad!.AsSpan()[i];
                Assert.True(Math.Abs(numeric - analytic) <= 2e-3 + 0.02 * Math.Abs(numeric), $"{key}[{i}]: autograd {analytic}, finite difference {numeric}");
            }
        }

        var before = AllBiases.ToDictionary(k => k, k => state[k].ToArray());
        var qWeight = state["model.layers.0.self_attn.q_proj.base_layer.weight"].ToArray();
        var optimizer = new AdamW(model.TrainableParameters(), learningRate: 1e-2);
        optimizer.Step();
        foreach (string key in AllBiases)
            Assert.True(before[key].Zip(state[key].ToArray()).Count(p => p.First != p.Second) > 8, $"{key} did not move");
        Assert.Equal(qWeight, state["model.layers.0.self_attn.q_proj.base_layer.weight"].ToArray());
    }

    [Theory]
    [InlineData("all")]
    [InlineData("lora_only")]
    public void TrainedBiasesAreSavedUnderPeftKeysAndLoadBack(string mode)
    {
        var model = WithBias(mode);
        var optimizer = new AdamW(model.TrainableParameters(), learningRate: 5e-2);
        double first = 0, last = 0;
        for (int step = 0; step < 5; step++)
        {
            var loss = Loss(model);
            if (step == 0) first = loss.Item();
            last = loss.Item();
            loss.Backward();
            optimizer.Step();
            optimizer.ZeroGrad();
        }
        Assert.True(last < first, $"loss {first} → {last}");
        model.Eval();
        var expected = model.Logits(Ids).ToArray();

        string dir = Directory.CreateDirectory(_folder.File("bias-" + mode)).FullName;
        model.SaveAdapter(dir);
        Assert.Contains($"\"bias\": \"{mode}\"", File.ReadAllText(Path.Combine(dir, AdapterFiles.ConfigFile)));
        var expectedBiasKeys = AllBiases.Where(k => mode == "all" || k.Contains("base_layer")).Select(k => "base_model.model." + k).Order(StringComparer.Ordinal);
        using (var file = SafetensorsFile.Open(Path.Combine(dir, AdapterFiles.WeightsFile)))
        {
            Assert.Equal(expectedBiasKeys, file.Entries.Select(e => e.Name).Where(n => n.EndsWith(".bias", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
            Assert.Equal(model.StateDict()["model.layers.0.self_attn.q_proj.base_layer.bias"].ToArray(),
                file.ReadTensorAsFloat32("base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias").ToArray());
        }

        // A fresh base (same seed, so its biases are the untrained ones) gets the trained biases from the folder.
        var fresh = new TinyCausalLm(11);
        fresh.Eval();
        Assert.NotEqual(expected, fresh.Logits(Ids).ToArray());
        var reloaded = new TinyCausalLm(11);
        reloaded.LoadAdapter(dir);
        reloaded.Eval();
        TensorAssert.BitEqual(expected, reloaded.Logits(Ids).ToArray(), $"bias \"{mode}\" reloaded");
        Assert.Empty(TrainableBiases(reloaded));                       // inference mode: nothing trains

        var trainable = new TinyCausalLm(11);
        trainable.LoadAdapter(dir, isTrainable: true);
        Assert.Equal(expectedBiasKeys.Select(k => k["base_model.model.".Length..]), TrainableBiases(trainable));
    }

    [Fact]
    public void SwitchingToAnAdapterWithoutABiasModeFreezesTheBiases()
    {
        var model = WithBias("all");
        model.ApplyLora(new LoraConfig { R = 2, TargetModules = ["q_proj"] }, adapterName: "plain");
        Assert.Equal(AllBiases.Order(StringComparer.Ordinal), TrainableBiases(model));   // "default" is still active
        model.SetAdapter("plain");
        Assert.Empty(TrainableBiases(model));
        model.SetAdapter("default");
        Assert.Equal(AllBiases.Order(StringComparer.Ordinal), TrainableBiases(model));
    }
}
