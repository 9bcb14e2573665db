using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Models.Tests.Llama;

public class LlamaConfigTests
{
    [Fact]
    public void ReadsTheFixtureConfigs()
    {
        var llama = LlamaConfig.Load(LlamaFixtures.Folder("llama"));
        Assert.Equal(("llama", 64, 172, 2, 4, 4, 16, 256), (llama.ModelType, llama.HiddenSize, llama.IntermediateSize, llama.NumHiddenLayers,
            llama.NumAttentionHeads, llama.KeyValueHeads, llama.ResolvedHeadDim, llama.VocabSize));
        Assert.Equal(new Llama3RopeScaling(8, 1, 4, 32), llama.RopeScaling);
        Assert.Equal(500000, llama.RopeTheta);
        Assert.False(llama.TieWordEmbeddings);
        Assert.Equal([2], llama.EosTokenIds);
        Assert.Equal(DType.F32, llama.TorchDType);

        var qwen = LlamaConfig.Load(LlamaFixtures.Folder("qwen2"));
        Assert.True(qwen.QkvBias);
        Assert.False(qwen.OutputProjectionBias);
        Assert.True(qwen.TieWordEmbeddings);
        Assert.Null(qwen.SlidingWindow); // use_sliding_window is false
        Assert.Equal(2, qwen.KeyValueHeads);

        Assert.Equal(DType.BF16, LlamaConfig.Load(LlamaFixtures.Folder("llama-bf16")).TorchDType);
    }

    [Fact]
    public void SaveThenLoadGivesTheSameConfig()
    {
        using var folder = new TempFolder();
        var config = LlamaFixtures.TinyConfig() with
        {
            HeadDim = 16, RopeScaling = new Llama3RopeScaling(8, 1, 4, 16), EosTokenIds = [2, 7], PadTokenId = 0,
            MlpBias = true, QkvBias = true, OutputProjectionBias = true, TorchDType = DType.BF16, RmsNormEps = 1e-5,
        };
        config.Save(folder.Path);
        var loaded = LlamaConfig.Load(folder.Path);
        Assert.Equal(config.EosTokenIds, loaded.EosTokenIds);
        Assert.Equal(config, loaded with { EosTokenIds = config.EosTokenIds });
    }

    [Fact]
    public void HeadDimDefaultsToHiddenOverHeadsAndMayBeGiven()
    {
        var config = LlamaFixtures.TinyConfig();
        Assert.Equal(8, config.ResolvedHeadDim);
        var wide = config with { HeadDim = 12 };
        var model = new LlamaForCausalLM(wide);
        Assert.Equal([48, 32], model.StateDict()["model.layers.0.self_attn.q_proj.weight"].ShapeArray());
        Assert.Equal([24, 32], model.StateDict()["model.layers.0.self_attn.k_proj.weight"].ShapeArray());
        Assert.Equal([32, 48], model.StateDict()["model.layers.0.self_attn.o_proj.weight"].ShapeArray());
        using var _ = Tensor.NoGrad();
        Assert.Equal([1, 3, 50], model.Forward([1, 2, 3], 1, 3).ShapeArray());
    }
}
