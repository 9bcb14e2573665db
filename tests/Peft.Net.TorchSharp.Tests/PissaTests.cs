using Peft.Net.Adapters;
using Peft.Net.Lora;
using TorchSharp;
using EngineSafetensors = Peft.Net.Core.IO.Safetensors;
using EngineLinear = Peft.Net.Core.Nn.Linear;
using EngineLoraLinear = Peft.Net.Lora.LoraLinear;
using EngineTensor = Peft.Net.Core.Tensor;
using TensorRandom = Peft.Net.Core.TensorRandom;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>PiSSA on the TorchSharp layers ("pissa" and "pissa_niter_K"): the engine's factors, the residual base.</summary>
public sealed class PissaTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("peft-ts-pissa-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // [Out, In] = [140, 120]: above the Jacobi cut-off, so "pissa" runs the engine's subspace iteration
    private const int Out = 140, In = 120, Rank = 6;

    private static EngineTensor Weight() => EngineTensor.Normal([Out, In], 0, 0.2f, new TensorRandom(17));

    private static (LoraLinear Layer, global::TorchSharp.Modules.Linear Base) TorchLayer(EngineTensor w, LoraAdapterOptions options, long seed)
    {
        var baseLayer = nn.Linear(In, Out, hasBias: false);
        Parity.CopyInto(baseLayer.weight!, w);
        var layer = new LoraLinear(baseLayer);
        layer.AddAdapter("default", options, new Generator((ulong)seed));
        return (layer, baseLayer);
    }

    [Fact]
    public void Exact_pissa_matches_the_engine()
    {
        var w = Weight();
        var options = new LoraAdapterOptions(Rank, Alpha: 12, Init: LoraInit.PiSSA);
        var engineBase = new EngineLinear(w.Clone(), null);
        var engine = new EngineLoraLinear(engineBase);
        engine.AddAdapter("default", options, new TensorRandom(1));
        var (layer, baseLayer) = TorchLayer(w, options, seed: 1);
        Parity.Close(engine.GetLoraA("default"), layer.LoraA("default"), 1e-6, "A");
        Parity.Close(engine.GetLoraB("default"), layer.LoraB("default"), 1e-6, "B");
        Parity.Close(engineBase.Weight, baseLayer.weight!, 1e-5, "residual base");
    }

    [Fact]
    public void Pissa_niter_keeps_the_weight_and_follows_the_generator()
    {
        var w = Weight();
        var options = new LoraAdapterOptions(Rank, Alpha: 12, Init: LoraInit.PiSSA) { PissaNiter = 3 };
        var (layer, baseLayer) = TorchLayer(w, options, seed: 5);
        var a = Parity.Values(layer.LoraA("default"));
        using (torch.no_grad())
        {
            using var rebuilt = baseLayer.weight! + layer.Scaling("default") * layer.LoraB("default").matmul(layer.LoraA("default"));
            Assert.True(Parity.RelativeError(Parity.Values(rebuilt), w.ToArray()) <= 1e-6, "W_res + scaling·B·A must give W back");
        }
        Assert.Equal(a, Parity.Values(TorchLayer(w, options, seed: 5).Layer.LoraA("default")));
        Assert.NotEqual(a, Parity.Values(TorchLayer(w, options, seed: 6).Layer.LoraA("default")));
    }

    [Fact]
    public void ApplyLora_with_pissa_niter_records_the_value_and_refuses_an_embedding_before_changing_anything()
    {
        torch.manual_seed(2);
        var model = new TinyLm();
        model.ApplyLora(new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = ["q_proj"], InitLoraWeights = "pissa_niter_2" });
        var q = Assert.IsType<LoraLinear>(((Attention)model.layers[0]).q_proj);
        Assert.Equal(2, q.GetOptions("default").PissaNiter);

        var other = new TinyLm();
        var keys = other.state_dict().Keys.ToList();
        var e = Assert.Throws<NotSupportedException>(() =>
            other.ApplyLora(new LoraConfig { R = 2, TargetModules = ["q_proj", "embed_tokens"], InitLoraWeights = "pissa" }));
        Assert.Contains("embed_tokens", e.Message);
        Assert.Equal(keys, other.state_dict().Keys.ToList());
    }

    [Fact]
    public void A_pissa_folder_re_runs_pissa_on_the_original_base_and_a_pissa_niter_folder_is_refused()
    {
        using var ids = torch.tensor(new long[] { 1, 5, 9, 2, 33, 7 }, [2, 3]);
        torch.manual_seed(3);
        var trained = new TinyLm();
        var original = trained.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        trained.ApplyLora(new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = ["q_proj", "up_proj"], InitLoraWeights = "pissa" });
        using (torch.no_grad())
            foreach (var (name, p) in trained.named_parameters())
                if (name.Contains("lora_B")) p.add_(0.01);   // "training" moves B away from its PiSSA start
        trained.eval();
        var expected = Parity.Values(trained.call(ids));
        string dir = Path.Combine(_dir, "pissa");
        trained.SaveAdapter(dir);

        torch.manual_seed(4);
        var model = new TinyLm();
        using (torch.no_grad())
            foreach (var (name, p) in model.named_parameters()) p.copy_(original[name]);   // the original base
        model.LoadAdapter(dir);
        model.eval();
        Assert.True(Parity.RelativeError(Parity.Values(model.call(ids)), expected) <= 1e-5, "PiSSA adapter on the original base");

        string configPath = Path.Combine(dir, "adapter_config.json");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"init_lora_weights\": \"pissa\"", "\"init_lora_weights\": \"pissa_niter_4\""));
        var fresh = new TinyLm();
        var e = Assert.Throws<Peft.Net.Adapters.AdapterFormatException>(() => fresh.LoadAdapter(dir));
        Assert.Contains("pissa_niter_4", e.Message);
        Assert.Contains("convert_pissa_to_lora", e.Message);
        Assert.IsNotType<LoraLinear>(((Attention)fresh.layers[0]).q_proj);
    }

    // A "pissa" folder trained on a TinyLm (q_proj of both layers and up_proj), and that TinyLm's original weights.
    private (string Dir, Dictionary<string, Tensor> Original) TrainedPissaFolder(string name)
    {
        torch.manual_seed(11);
        var trained = new TinyLm();
        var original = trained.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        trained.ApplyLora(new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = ["q_proj", "up_proj"], InitLoraWeights = "pissa" });
        using (torch.no_grad())
            foreach (var (key, p) in trained.named_parameters())
                if (key.Contains("lora_B")) p.add_(0.01);
        string dir = Path.Combine(_dir, name);
        trained.SaveAdapter(dir);
        return (dir, original);
    }

    private static TinyLm ModelWith(Dictionary<string, Tensor> weights)
    {
        torch.manual_seed(12);
        var model = new TinyLm();
        using (torch.no_grad())
            foreach (var (key, p) in model.named_parameters()) p.copy_(weights[key]);
        return model;
    }

    // Every tensor of the model by key, as float32 bit patterns.
    private static Dictionary<string, int[]> Bits(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => Parity.Values(kv.Value).Select(BitConverter.SingleToInt32Bits).ToArray());

    private static void AssertUnchangedAndWithoutAdapter(Dictionary<string, int[]> before, nn.Module model)
    {
        var after = Bits(model);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (key, bits) in before)
            Assert.True(bits.SequenceEqual(after[key]), $"{key} changed bits although the load was refused");
        Assert.Empty(model.AdapterConfigs());
        Assert.Null(model.ActiveAdapter());
        Assert.DoesNotContain(model.modules(), m => m is ILoraModule);
    }

    private static void EditTensors(string dir, Action<Dictionary<string, Peft.Net.Core.Tensor>> edit)
    {
        string weights = Path.Combine(dir, AdapterFiles.WeightsFile);
        var tensors = EngineSafetensors.Load(weights);
        edit(tensors);
        EngineSafetensors.Save(weights, tensors, AdapterFiles.Metadata);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("shape")]
    public void A_pissa_folder_that_does_not_fit_leaves_every_base_weight_bit_for_bit(string defect)
    {
        var (dir, original) = TrainedPissaFolder("pissa-" + defect);
        const string upA = "base_model.model.mlp.up_proj.lora_A.weight";
        const string q1B = "base_model.model.layers.1.q_proj.lora_B.weight";
        EditTensors(dir, t =>
        {
            Assert.True(t.ContainsKey(upA) && t.ContainsKey(q1B), "the saved folder has the expected keys");
            if (defect == "missing") t.Remove(q1B);
            else t[upA] = EngineTensor.Normal([3, 16], 0, 0.1f, new TensorRandom(1));   // rank 3 where the config says 2
        });
        var model = ModelWith(original);
        var before = Bits(model);

        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir));
        Assert.Contains(defect == "missing" ? $"missing keys [{q1B}]" : $"{upA}: file [3, 16] vs model [2, 16]", e.Message);
        AssertUnchangedAndWithoutAdapter(before, model);
    }

    [Fact]
    public void A_pissa_folder_whose_rank_one_layer_cannot_give_is_refused_after_other_layers_and_changes_nothing()
    {
        // r = 4 on q_proj [16, 16] (fine) and on heads.score [3, 16], whose SVD has 3 triplets: the SVD of score fails
        // after those of both q_proj layers ran.
        torch.manual_seed(13);
        var trained = new TinyLm();
        var original = trained.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        trained.ApplyLora(new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = ["q_proj", "score"] });
        string dir = Path.Combine(_dir, "pissa-rank");
        trained.SaveAdapter(dir);
        string configPath = Path.Combine(dir, AdapterFiles.ConfigFile);
        string text = File.ReadAllText(configPath);
        Assert.Contains("\"init_lora_weights\": true", text);
        File.WriteAllText(configPath, text.Replace("\"init_lora_weights\": true", "\"init_lora_weights\": \"pissa\""));
        var model = ModelWith(original);
        var before = Bits(model);

        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir));
        Assert.Contains("rank 4 exceeds the base weight's smaller dimension (3×16)", e.Message);
        AssertUnchangedAndWithoutAdapter(before, model);
    }

    [Fact]
    public void A_pissa_folder_loads_the_same_residual_base_as_ApplyLora_and_the_files_A_and_B()
    {
        var (dir, original) = TrainedPissaFolder("pissa-bits");
        var applied = ModelWith(original);
        applied.ApplyLora(new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = ["q_proj", "up_proj"], InitLoraWeights = "pissa" });
        var loaded = ModelWith(original);

        loaded.LoadAdapter(dir);

        var file = EngineSafetensors.Load(Path.Combine(dir, AdapterFiles.WeightsFile));
        var expected = Bits(applied);
        var actual = Bits(loaded);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        int residuals = 0;
        foreach (var (key, bits) in expected)
        {
            if (AdapterKeys.ToFileKey(key, "default") is { } fileKey)
                Assert.True(file[fileKey].ToArray().Select(BitConverter.SingleToInt32Bits).SequenceEqual(actual[key]), $"{key}: not the file's values");
            else
            {
                Assert.True(bits.SequenceEqual(actual[key]), $"{key}: not ApplyLora's base bit for bit");
                if (key.EndsWith("base_layer.weight", StringComparison.Ordinal))
                {
                    residuals++;
                    Assert.False(bits.SequenceEqual(Parity.Values(original[key.Replace(".base_layer", "")]).Select(BitConverter.SingleToInt32Bits)), $"{key} was not rewritten");
                }
            }
        }
        Assert.Equal(3, residuals);   // layers.0.q_proj, layers.1.q_proj, mlp.up_proj
    }
}
