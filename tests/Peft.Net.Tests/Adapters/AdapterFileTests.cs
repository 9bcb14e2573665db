using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Adapters;

public sealed class AdapterFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly int[,] Ids = AdapterTestData.Ids;

    private string Folder(string name) => Directory.CreateDirectory(_folder.File(name)).FullName;

    [Fact]
    public void SavedFilesUsePeftsNamesKeysAndConfig()
    {
        var model = new TinyCausalLm();
        model.ApplyDora(rank: 2, alpha: 4, targetModules: ["model.layers.0.self_attn.q_proj"]);
        model.ApplyLora(rank: 2, targetModules: ["v_proj", "embed_tokens"], modulesToSave: ["lm_head"], adapterName: "second");
        string dir = Folder("saved");
        model.SaveAdapter(dir);
        string dir2 = Folder("saved2");
        model.SaveAdapter(dir2, "second");

        Assert.Equal([AdapterFiles.ConfigFile, AdapterFiles.WeightsFile], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using (var file = SafetensorsFile.Open(Path.Combine(dir, AdapterFiles.WeightsFile)))
        {
            Assert.Equal(new Dictionary<string, string> { ["format"] = "pt" }, file.Metadata);
            Assert.Equal(
                [
                    "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                    "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
                    "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector",
                ],
                file.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));
            Assert.Equal([16], file.GetEntry("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector").ShapeArray());
            Assert.All(file.Entries, e => Assert.Equal(DType.F32, e.DType));
        }
        using (var file = SafetensorsFile.Open(Path.Combine(dir2, AdapterFiles.WeightsFile)))
            Assert.Equal(
                [
                    "base_model.model.lm_head.weight",
                    "base_model.model.model.embed_tokens.lora_embedding_A",
                    "base_model.model.model.embed_tokens.lora_embedding_B",
                    "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
                    "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
                    "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight",
                    "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight",
                ],
                file.Entries.Select(e => e.Name).Order(StringComparer.Ordinal));

        string json = File.ReadAllText(Path.Combine(dir, AdapterFiles.ConfigFile));
        Assert.StartsWith("{\n  \"alpha_pattern\": {},\n  \"auto_mapping\": null,\n", json);
        Assert.Contains("\n  \"inference_mode\": true,\n", json);
        Assert.Contains("\n  \"peft_type\": \"LORA\",\n", json);
        Assert.Contains("\n  \"r\": 2,\n", json);
        Assert.Contains("\n  \"lora_alpha\": 4,\n", json);
        Assert.Contains("\n  \"use_dora\": true,\n", json);
        Assert.Contains("\n  \"target_modules\": [\n    \"model.layers.0.self_attn.q_proj\"\n  ],\n", json);
        Assert.Contains("\n  \"task_type\": \"CAUSAL_LM\",\n", json);
        Assert.Contains("\"modules_to_save\": [\n    \"lm_head\"\n  ]", File.ReadAllText(Path.Combine(dir2, AdapterFiles.ConfigFile)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SaveThenLoadGivesBitIdenticalOutputs(bool dora)
    {
        var trained = new TinyCausalLm(seed: 11);
        var targets = dora ? new[] { "q_proj", "o_proj", "up_proj" } : ["q_proj", "o_proj", "up_proj", "embed_tokens"];
        if (dora) trained.ApplyDora(rank: 3, alpha: 5, targetModules: targets, modulesToSave: ["norm"]);
        else trained.ApplyLora(rank: 3, alpha: 5, useRsLora: true, targetModules: targets, modulesToSave: ["norm"], rankPattern: new Dictionary<string, int> { ["up_proj"] = 2 });
        AdapterTestData.Randomize(trained, "default", 9);
        var norm = ((ModulesToSaveWrapper)trained.GetSubmodule("model.norm")).GetCopy("default");
        norm.Parameters().First().AsSpan()[3] = 1.75f;
        trained.Eval();
        var expected = trained.Logits(Ids).ToArray();
        string dir = Folder("adapter");
        trained.SaveAdapter(dir);

        var fresh = new TinyCausalLm(seed: 11);
        var config = fresh.LoadAdapter(dir);
        fresh.Eval();
        TensorAssert.BitEqual(expected, fresh.Logits(Ids).ToArray(), "reloaded adapter");
        Assert.Equal(dora, config.UseDora);
        Assert.Empty(AdapterTestData.TrainableNames(fresh));   // inference mode by default
        Assert.Equal("default", fresh.ActiveAdapter());

        var trainable = new TinyCausalLm(seed: 11);
        trainable.LoadAdapter(dir, "tuned", isTrainable: true);
        Assert.NotEmpty(AdapterTestData.TrainableNames(trainable));
        Assert.All(AdapterTestData.TrainableNames(trainable), n => Assert.Matches(@"\.tuned(\.|$)", n));
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    public void APeftAdapterFolderLoadsAndMatchesPyTorch(string adapterCase)
    {
        var fixture = Fixture.Load("adapters", adapterCase);
        var model = TinyCausalLm.FromFile(AdapterTestData.FixturePath("base.safetensors"));
        model.Eval();
        TensorAssert.Close(fixture.Data("base_logits"), model.Logits(Ids).ToArray(), atol: 1e-4, rtol: 1e-4, what: "base model");
        model.LoadAdapter(AdapterTestData.FixturePath(adapterCase));
        model.Eval();
        TensorAssert.Close(fixture.Data("logits"), model.Logits(Ids).ToArray(), atol: 1e-4, rtol: 1e-4, what: adapterCase + " adapter");
    }

    [Fact]
    public void F16AdapterTensorsLoadWidenedToF32()
    {
        var trained = new TinyCausalLm();
        trained.ApplyLora(targetModules: ["k_proj"]);
        AdapterTestData.Randomize(trained, "default", 12);
        string dir = Folder("f16");
        trained.SaveAdapter(dir);
        string weights = Path.Combine(dir, AdapterFiles.WeightsFile);
        var halves = Safetensors.Load(weights).ToDictionary(p => p.Key, p => p.Value.To(DType.F16));
        Safetensors.Save(weights, halves, AdapterFiles.Metadata);

        var model = new TinyCausalLm();
        model.LoadAdapter(dir);
        var layer = (LoraLinear)model.GetSubmodule("model.layers.1.self_attn.k_proj");
        var expected = halves["base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"].ToArray();
        Assert.Equal(DType.F32, layer.GetLoraB("default").DType);
        TensorAssert.BitEqual(expected, layer.GetLoraB("default").ToArray(), "lora_B");
    }

    [Fact]
    public void MissingExtraAndMisshapenKeysAreListedAndTheModelIsLeftUnchanged()
    {
        var trained = new TinyCausalLm();
        trained.ApplyLora(rank: 2, targetModules: ["q_proj"]);
        string dir = Folder("broken");
        trained.SaveAdapter(dir);
        string weights = Path.Combine(dir, AdapterFiles.WeightsFile);
        var tensors = Safetensors.Load(weights);
        tensors.Remove("base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight");
        tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"] = Tensor.Zeros(3, 16);
        tensors["base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight"] = Tensor.Zeros(2, 16);
        Safetensors.Save(weights, tensors, AdapterFiles.Metadata);

        var model = new TinyCausalLm();
        var keys = model.StateDict().Keys.ToArray();
        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir));
        Assert.StartsWith(weights + ": ", e.Message);
        Assert.Contains("missing keys [base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight]", e.Message);
        Assert.Contains("unexpected keys [base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight]", e.Message);
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight: file [3, 16] vs model [2, 16]", e.Message);
        Assert.Equal(keys, model.StateDict().Keys.ToArray());
        Assert.Empty(model.AdapterConfigs());
    }

    [Fact]
    public void AFailedLoadNextToAnotherAdapterLeavesThatAdapterAsItWas()
    {
        var other = new TinyCausalLm();
        other.ApplyLora(rank: 2, targetModules: ["v_proj"], modulesToSave: ["lm_head"]);
        string dir = Folder("other");
        other.SaveAdapter(dir);
        string weights = Path.Combine(dir, AdapterFiles.WeightsFile);
        var tensors = Safetensors.Load(weights);
        tensors.Remove("base_model.model.lm_head.weight");
        Safetensors.Save(weights, tensors, AdapterFiles.Metadata);

        var model = new TinyCausalLm();
        model.ApplyLora(targetModules: ["q_proj"], adapterName: "mine");
        AdapterTestData.Randomize(model, "mine", 3);
        var keys = model.StateDict().Keys.ToArray();
        var logits = model.Logits(Ids).ToArray();
        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir, "other"));
        Assert.Contains("missing keys [base_model.model.lm_head.weight]", e.Message);
        Assert.Equal(keys, model.StateDict().Keys.ToArray());
        Assert.Equal(["mine"], model.AdapterConfigs().Keys);
        TensorAssert.BitEqual(logits, model.Logits(Ids).ToArray(), "the remaining adapter");
    }

    [Fact]
    public void ConfigsThatDoNotFitTheModelNameTheConfigFile()
    {
        var trained = new TinyCausalLm();
        trained.ApplyLora(targetModules: ["q_proj"]);
        string dir = Folder("config");
        trained.SaveAdapter(dir);
        string configPath = Path.Combine(dir, AdapterFiles.ConfigFile);

        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"q_proj\"", "\"query\""));
        var model = new TinyCausalLm();
        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir));
        Assert.StartsWith(configPath + ": ", e.Message);
        Assert.Contains("matched no module", e.Message);

        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"r\": 8", "\"r\": 0"));
        e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir));
        Assert.Contains("'r' must be a positive integer, found 0", e.Message);

        File.Delete(Path.Combine(dir, AdapterFiles.WeightsFile));
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"r\": 0", "\"r\": 8"));
        Assert.Throws<FileNotFoundException>(() => model.LoadAdapter(dir));
        Assert.Empty(model.AdapterConfigs());
    }
}
