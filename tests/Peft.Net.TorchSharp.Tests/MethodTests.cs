using Peft.Net.Optim;
using Peft.Net.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>LoRA+, NEFTune and QuantizeNf4 on TorchSharp models.</summary>
public sealed class MethodTests
{
    [Fact]
    public void LoraPlus_puts_B_at_ratio_times_lr_and_embeddings_in_their_own_group()
    {
        var model = new TinyLm();
        model.ApplyLora(rank: 4, targetModules: ["q_proj", "embed_tokens"], modulesToSave: ["score"]);
        var optimizer = new LoraPlusOptimizer(model, learningRate: 2e-4, loraPlusRatio: 16, weightDecay: 0.01);
        var groups = optimizer.Assignment.ToDictionary(a => a.Name, a => a.Group);
        Assert.Equal(LoraPlusGroup.A, groups["layers.0.q_proj.lora_A.default.weight"]);
        Assert.Equal(LoraPlusGroup.B, groups["layers.1.q_proj.lora_B.default.weight"]);
        Assert.Equal(LoraPlusGroup.Embedding, groups["embed_tokens.lora_embedding_A.default"]);
        Assert.Equal(LoraPlusGroup.Embedding, groups["embed_tokens.lora_embedding_B.default"]);
        Assert.Equal(LoraPlusGroup.A, groups["heads.score.modules_to_save.default.weight"]);
        Assert.Equal(LoraPlusGroup.BNoDecay, groups["heads.score.modules_to_save.default.bias"]);
        Assert.Equal(model.parameters().Count(p => p.requires_grad), groups.Count);

        var lrs = optimizer.ParamGroups.Select(g => g.LearningRate).ToList();
        Assert.Equal([2e-4, 1e-6, 2e-4 * 16, 2e-4 * 16], lrs);
        Assert.Equal([0.01, 0.01, 0.01, 0.0], optimizer.ParamGroups.Select(g => ((AdamW.ParamGroup)g).Options.weight_decay!.Value).ToList());
    }

    [Fact]
    public void LoraPlus_grouping_equals_the_engines_rule_for_the_same_names()
    {
        var model = new TinyLm();
        model.ApplyLora(rank: 2, targetModules: ["v_proj", "up_proj"]);
        foreach (var (name, group) in LoraPlusOptimizer.Classify(model))
        {
            var parameter = model.named_parameters().Single(p => p.name == name).parameter;
            Assert.Equal(LoraPlusRules.GroupOf(name, (int)parameter.ndim, false, LoraPlusRules.Decays(name, false)), group);
        }
    }

    [Fact]
    public void Neftune_adds_uniform_noise_of_alpha_over_sqrt_Ld_in_training_only_and_keeps_the_keys()
    {
        var model = new TinyLm(vocab: 100, dim: 64);
        var keys = model.state_dict().Keys.ToList();
        var neftune = model.EnableNeftune(noiseAlpha: 5, seed: 1);
        Assert.Same(neftune, model.embed_tokens);
        Assert.Equal(keys, model.state_dict().Keys.ToList());

        using var ids = torch.randint(0, 100, [8, 128], dtype: ScalarType.Int64);
        using var clean = neftune.Inner.call(ids);
        model.train();
        using var noise = neftune.call(ids) - clean;
        double bound = 5 / Math.Sqrt(128 * 64);
        var values = Parity.Values(noise);
        Assert.True(values.Max() <= bound && values.Min() >= -bound, "noise outside ±α/√(L·d)");
        Assert.True(values.Max() > 0.95 * bound && values.Min() < -0.95 * bound, "noise does not fill ±α/√(L·d)");
        double mean = values.Average(v => (double)v), variance = values.Average(v => (double)v * v);
        Assert.True(Math.Abs(mean) < 0.01 * bound, $"mean {mean} is not ≈ 0");
        Assert.True(Math.Abs(variance / (bound * bound / 3) - 1) < 0.02, $"variance {variance} is not ≈ bound²/3");

        model.eval();
        Assert.Equal(Parity.Values(clean), Parity.Values(neftune.call(ids)));
    }

    [Fact]
    public void QuantizeNf4_converts_every_linear_but_the_head_and_the_state_dict_round_trips()
    {
        var model = new TinyLm(dim: 64);
        var floatState = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        var summary = model.QuantizeNf4(doubleQuant: true);
        Assert.Equal(2 * 4 + 3, summary.ConvertedLayers.Count);
        Assert.Equal(["lm_head"], summary.SkippedLayers);
        Assert.Equal(4 * summary.Parameters, summary.BytesBefore);
        Assert.True(summary.CompressionRatio > 5, $"{summary.CompressionRatio} (small layers pay for their fixed maps)");
        Assert.IsType<Nf4Linear>(((Attention)model.layers[0]).q_proj);
        Assert.Contains("layers.0.q_proj.weight.quant_state.bitsandbytes__nf4", model.state_dict().Keys);
        Assert.Contains("layers.0.q_proj.weight.nested_absmax", model.state_dict().Keys);

        using var ids = torch.tensor(new long[] { 1, 2, 3 }, [1, 3]);
        var before = Parity.Values(model.call(ids));
        // A model quantized from the same weights loads the state dict and computes the same outputs. (The weights are
        // copied, not re-drawn from a seed: other test classes draw from LibTorch's global generator in parallel.)
        var copy = new TinyLm(dim: 64);
        copy.load_state_dict(floatState);
        copy.QuantizeNf4(doubleQuant: true);
        copy.load_state_dict(model.state_dict());
        Assert.Equal(before, Parity.Values(copy.call(ids)));
        var q = (Nf4Linear)((Attention)copy.layers[1]).v_proj;
        Assert.Equal(((Nf4Linear)((Attention)model.layers[1]).v_proj).Weight.Packed, q.Weight.Packed);

        model.ApplyLora(rank: 4);
        Assert.IsType<LoraLinear>(((Attention)model.layers[0]).q_proj);
        Assert.IsType<Nf4Linear>(((LoraLinear)((Attention)model.layers[0]).q_proj).BaseLayer);
        Assert.Contains(model.TrainableParameterSummary().AllParameters.ToString(), model.TrainableParameterSummary().ToString().Replace(",", ""));
    }
}

/// <summary>
/// The CUDA path of <see cref="Nf4Linear"/> cannot run here (CPU LibTorch, no GPU); its marshalling can: the buffers
/// map to the right fields of the kernel's device-state description (checked on CPU tensors' data pointers).
/// </summary>
public sealed class Nf4CudaPathTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_buffers_map_to_the_kernels_device_state(bool doubleQuant)
    {
        var layer = Nf4Linear.FromLinear(nn.Linear(96, 40), Peft.Net.Quantization.QuantType.Nf4, 32, doubleQuant);
        var buffers = layer.named_buffers(recurse: false).ToDictionary(b => b.name, b => b.buffer);
        var state = Nf4CudaPath.Describe(layer, Nf4CudaPath.DataPointer);
        Assert.Equal((ulong)Nf4CudaPath.DataPointer(buffers["weight"]), state.Packed);
        Assert.Equal((ulong)Nf4CudaPath.DataPointer(buffers["weight.quant_map"]), state.QuantMap);
        Assert.Equal((ulong)Nf4CudaPath.DataPointer(buffers["weight.absmax"]), doubleQuant ? state.AbsmaxCodes : state.Absmax);
        Assert.Equal(doubleQuant, state.IsDoubleQuantized);
        if (doubleQuant)
        {
            Assert.Equal((ulong)Nf4CudaPath.DataPointer(buffers["weight.nested_absmax"]), state.NestedAbsmax);
            Assert.Equal((ulong)Nf4CudaPath.DataPointer(buffers["weight.nested_quant_map"]), state.NestedQuantMap);
            Assert.Equal(layer.Weight.Offset, state.Offset);
            Assert.Equal(ScalarType.Byte, buffers["weight.absmax"].dtype);
        }
        Assert.Equal(96L * 40, state.ElementCount);
        Assert.Equal(32, state.BlockSize);
        // The CPU buffers share the QuantizedTensor's arrays: the pointer is the pinned array's.
        unsafe
        {
            fixed (byte* packed = layer.Weight.Packed) Assert.Equal((ulong)packed, state.Packed);
        }
    }
}

/// <summary>In steady state an Nf4Linear decodes from the arrays it already holds: no re-reading of its buffers per call.</summary>
public sealed class Nf4LinearSteadyStateTests
{
    [Fact]
    public void Forward_and_backward_reuse_the_same_quantized_weight()
    {
        var layer = Nf4Linear.FromLinear(nn.Linear(64, 32));
        var weight = layer.Weight;
        for (int i = 0; i < 3; i++)
        {
            var x = torch.randn(4, 64, requires_grad: true);
            layer.call(x).sum().backward();
        }
        Assert.Same(weight, layer.Weight);
    }
}
