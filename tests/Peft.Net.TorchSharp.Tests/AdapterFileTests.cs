using Peft.Net.Adapters;
using Peft.Net.Lora;
using TorchSharp;
using EngineLinear = Peft.Net.Core.Nn.Linear;
using EngineModule = Peft.Net.Core.Nn.Module;
using EngineTensor = Peft.Net.Core.Tensor;
using EngineRandom = Peft.Net.Core.TensorRandom;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>Adapter folders move between the engine and TorchSharp unchanged, byte for byte.</summary>
public sealed class AdapterFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("peft-ts-files-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class EngineBlock : EngineModule
    {
        public EngineBlock(EngineRandom random)
        {
            RegisterModule("embed_tokens", new Peft.Net.Core.Nn.Embedding(EngineTensor.Normal([30, 16], 0, 1, random)));
            RegisterModule("q_proj", new EngineLinear(EngineTensor.Normal([16, 16], 0, 0.2f, random), null));
            RegisterModule("v_proj", new EngineLinear(EngineTensor.Normal([16, 16], 0, 0.2f, random), EngineTensor.Normal([16], 0, 0.1f, random)));
            RegisterModule("lm_head", new EngineLinear(EngineTensor.Normal([30, 16], 0, 0.2f, random), null));
        }

        public override EngineTensor Forward(EngineTensor ids)
        {
            var h = Child<EngineModule>("embed_tokens").Forward(ids);
            h = Child<EngineModule>("v_proj").Forward(Child<EngineModule>("q_proj").Forward(h));
            return Child<EngineModule>("lm_head").Forward(h);
        }

        public Dictionary<string, EngineTensor> Weights() => StateDict().ToDictionary(p => p.Key, p => p.Value);
    }

    private sealed class TorchBlock : nn.Module<Tensor, Tensor>
    {
        public nn.Module<Tensor, Tensor> embed_tokens = nn.Embedding(30, 16);
        public nn.Module<Tensor, Tensor> q_proj = nn.Linear(16, 16, hasBias: false);
        public nn.Module<Tensor, Tensor> v_proj = nn.Linear(16, 16);
        public nn.Module<Tensor, Tensor> lm_head = nn.Linear(16, 30, hasBias: false);

        public TorchBlock(Dictionary<string, EngineTensor> weights) : base(nameof(TorchBlock))
        {
            RegisterComponents();
            var state = state_dict();
            foreach (var (key, value) in weights) Parity.CopyInto(state[key], value);
        }

        public override Tensor forward(Tensor ids) => lm_head.call(v_proj.call(q_proj.call(embed_tokens.call(ids))));
    }

    private static (EngineBlock Engine, TorchBlock Torch) Pair(ulong seed)
    {
        var engine = new EngineBlock(new EngineRandom(seed));
        return (engine, new TorchBlock(engine.Weights()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_folder_saved_by_the_engine_loads_into_torchsharp_and_saves_back_byte_for_byte(bool dora)
    {
        var (engine, torchModel) = Pair(1);
        var config = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = dora ? ["q_proj", "v_proj"] : ["q_proj", "v_proj", "embed_tokens"], UseDora = dora, BaseModelNameOrPath = "tiny/base" };
        engine.ApplyLora(config);
        foreach (var (key, tensor) in engine.StateDict())
            if (key.Contains("lora_B", StringComparison.Ordinal) || key.Contains("lora_embedding_A", StringComparison.Ordinal))
                EngineTensor.Normal(tensor.ShapeArray(), 0, 0.3f, new EngineRandom(9)).AsSpan().CopyTo(tensor.AsSpan());
        string engineDir = Path.Combine(_dir, "engine"), torchDir = Path.Combine(_dir, "torch");
        engine.SaveAdapter(engineDir);

        torchModel.LoadAdapter(engineDir);
        torchModel.SaveAdapter(torchDir);

        foreach (var file in new[] { AdapterFiles.ConfigFile, AdapterFiles.WeightsFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(engineDir, file)), File.ReadAllBytes(Path.Combine(torchDir, file)));
        var ids = new[] { 1, 4, 29, 0, 17, 3 };
        var expected = engine.Forward(EngineTensor.Wrap(ids.ToArray(), 2, 3));
        torchModel.eval();
        Parity.Close(expected, torchModel.call(torch.tensor(ids.Select(i => (long)i).ToArray(), [2, 3])), 1e-5, "logits with the loaded adapter");
    }

    [Fact]
    public void An_adapter_trained_on_torchsharp_loads_into_the_engine_with_the_same_outputs()
    {
        var (engine, torchModel) = Pair(2);
        torchModel.ApplyLora(rank: 4, alpha: 16, dropout: 0.1f, targetModules: ["q_proj", "v_proj"], seed: 3);
        var optimizer = new LoraPlusOptimizer(torchModel, learningRate: 1e-2, loraPlusRatio: 4);
        torchModel.train();
        var ids = torch.tensor(new long[] { 1, 4, 29, 0, 17, 3, 8, 8 }, [2, 4]);
        var targets = torch.tensor(new long[] { 4, 29, 0, 17, 3, 8, 8, 2 });
        for (int step = 0; step < 5; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(torchModel.call(ids).view(-1, 30), targets);
            loss.backward();
            optimizer.step();
        }
        string dir = Path.Combine(_dir, "trained");
        torchModel.SaveAdapter(dir);
        engine.LoadAdapter(dir);
        engine.Eval();

        torchModel.eval();
        var expected = engine.Forward(EngineTensor.Wrap(new[] { 1, 4, 29, 0, 17, 3, 8, 8 }, 2, 4));
        var actual = torchModel.call(ids);
        Parity.Close(expected, actual, 1e-5, "logits");
        var b = ((LoraLinear)torchModel.q_proj).LoraB("default");
        Assert.True(Parity.Values(b).Any(v => v != 0), "training did not move lora_B");
    }

    [Fact]
    public void A_folder_that_does_not_fit_is_refused_and_the_model_is_left_as_it_was()
    {
        var (engine, _) = Pair(3);
        engine.ApplyLora(new LoraConfig { R = 4, TargetModules = ["q_proj"] });
        string dir = Path.Combine(_dir, "other");
        engine.SaveAdapter(dir);
        var mismatched = new Mismatched();
        var keysBefore = mismatched.state_dict().Keys.ToList();
        var error = Assert.Throws<AdapterFormatException>(() => mismatched.LoadAdapter(dir));
        Assert.Contains("shape mismatches", error.Message);
        Assert.Equal(keysBefore, mismatched.state_dict().Keys.ToList());
        Assert.IsType<global::TorchSharp.Modules.Linear>(mismatched.q_proj);
    }

    private sealed class Mismatched : nn.Module<Tensor, Tensor>
    {
        public nn.Module<Tensor, Tensor> q_proj = nn.Linear(12, 16, hasBias: false);

        public Mismatched() : base(nameof(Mismatched)) => RegisterComponents();

        public override Tensor forward(Tensor x) => q_proj.call(x);
    }
}
