using System.Text.Json.Nodes;
using Peft.Net.Adapters;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Tests.Adapters;

/// <summary>
/// adapter_config.json as PEFT 0.13 and 0.14 write it, read and written back by Peft.Net: the written file must hold
/// only fields PEFT 0.10.0's LoraConfig accepts (0.10–0.13 refuse any other key) unless a newer feature is in use.
/// </summary>
public sealed class PeftVersionConfigTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The keyword arguments of PEFT 0.10.0's LoraConfig (PeftConfig base + LoRA fields).</summary>
    private static readonly string[] Peft010Fields =
    [
        "alpha_pattern", "auto_mapping", "base_model_name_or_path", "bias", "fan_in_fan_out", "inference_mode",
        "init_lora_weights", "layer_replication", "layers_pattern", "layers_to_transform", "loftq_config", "lora_alpha",
        "lora_dropout", "megatron_config", "megatron_core", "modules_to_save", "peft_type", "r", "rank_pattern", "revision",
        "target_modules", "task_type", "use_dora", "use_rslora",
    ];

    // Written by PEFT 0.13.2's save_pretrained for LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj","v_proj"]).
    private const string Peft013Config = """
        {
          "alpha_pattern": {},
          "auto_mapping": null,
          "base_model_name_or_path": "HuggingFaceTB/SmolLM-135M",
          "bias": "none",
          "fan_in_fan_out": false,
          "inference_mode": true,
          "init_lora_weights": true,
          "layer_replication": null,
          "layers_pattern": null,
          "layers_to_transform": null,
          "loftq_config": {},
          "lora_alpha": 16,
          "lora_dropout": 0.05,
          "megatron_config": null,
          "megatron_core": "megatron.core",
          "modules_to_save": null,
          "peft_type": "LORA",
          "r": 8,
          "rank_pattern": {},
          "revision": null,
          "target_modules": [
            "q_proj",
            "v_proj"
          ],
          "task_type": "CAUSAL_LM",
          "use_dora": false,
          "use_rslora": false
        }
        """;

    // The same adapter written by PEFT 0.14.0: three more fields at their defaults.
    private const string Peft014Config = """
        {
          "alpha_pattern": {},
          "auto_mapping": null,
          "base_model_name_or_path": "HuggingFaceTB/SmolLM-135M",
          "bias": "none",
          "eva_config": null,
          "exclude_modules": null,
          "fan_in_fan_out": false,
          "inference_mode": true,
          "init_lora_weights": true,
          "layer_replication": null,
          "layers_pattern": null,
          "layers_to_transform": null,
          "loftq_config": {},
          "lora_alpha": 16,
          "lora_bias": false,
          "lora_dropout": 0.05,
          "megatron_config": null,
          "megatron_core": "megatron.core",
          "modules_to_save": null,
          "peft_type": "LORA",
          "r": 8,
          "rank_pattern": {},
          "revision": null,
          "target_modules": [
            "q_proj",
            "v_proj"
          ],
          "task_type": "CAUSAL_LM",
          "use_dora": false,
          "use_rslora": false
        }
        """;

    private static List<string> Keys(string json) => JsonNode.Parse(json)!.AsObject().Select(p => p.Key).ToList();

    [Fact]
    public void APeft013ConfigIsWrittenBackByteForByte()
    {
        var config = LoraConfig.FromJson(Peft013Config);
        Assert.Equal(Peft013Config, config.ToJson());
        Assert.Equal(Peft010Fields, Keys(config.ToJson()));
    }

    [Fact]
    public void APeft014ConfigLosesOnlyItsDefaultNewerFields()
    {
        var config = LoraConfig.FromJson(Peft014Config);
        string written = config.ToJson();
        Assert.Equal(Peft013Config, written);
        Assert.Subset(Peft010Fields.ToHashSet(), Keys(written).ToHashSet());
        Assert.False(config.LoraBias);
        Assert.Equal(16, config.LoraAlpha);
    }

    [Fact]
    public void NewerFieldsInUseAreWrittenAndNewerDefaultsAndPeftVersionAreNot()
    {
        string json = Peft014Config
            .Replace("\"eva_config\": null", "\"eva_config\": {\"rho\": 2.0}")
            .Replace("\"lora_bias\": false", "\"lora_bias\": true")
            .Replace("\"exclude_modules\": null", "\"exclude_modules\": [\"lm_head\"]")
            .Replace("\"alpha_pattern\": {},", "\"alpha_pattern\": {},\n  \"peft_version\": \"0.18.0\",\n  \"trainable_token_indices\": null,\n  \"qalora_group_size\": 16,\n  \"use_qalora\": false,\n  \"target_parameters\": null,\n  \"ensure_weight_tying\": false,");
        var written = JsonNode.Parse(LoraConfig.FromJson(json).ToJson())!.AsObject();
        Assert.True(written["lora_bias"]!.GetValue<bool>());
        Assert.Equal("""["lm_head"]""", written["exclude_modules"]!.ToJsonString());
        Assert.Equal("""{"rho":2.0}""", written["eva_config"]!.ToJsonString());
        foreach (var gone in new[] { "peft_version", "trainable_token_indices", "qalora_group_size", "use_qalora", "target_parameters", "ensure_weight_tying" })
            Assert.False(written.ContainsKey(gone), gone);
        // A newer field at a value other than its default stays, so PEFT 0.13 refuses what it could not apply.
        var grouped = JsonNode.Parse(LoraConfig.FromJson(json.Replace("\"qalora_group_size\": 16", "\"qalora_group_size\": 32")).ToJson())!.AsObject();
        Assert.Equal(32, grouped["qalora_group_size"]!.GetValue<int>());
    }

    [Fact]
    public void SaveAdapterWritesTheBaseModelNameOrPath()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(rank: 2, targetModules: ["q_proj"]);
        string plain = Directory.CreateDirectory(_folder.File("plain")).FullName;
        model.SaveAdapter(plain);
        Assert.Null(LoraConfig.Load(Path.Combine(plain, AdapterFiles.ConfigFile)).BaseModelNameOrPath);

        model.SetBaseModelNameOrPath("models/SmolLM-135M");
        string named = Directory.CreateDirectory(_folder.File("named")).FullName;
        model.SaveAdapter(named);
        var config = LoraConfig.Load(Path.Combine(named, AdapterFiles.ConfigFile));
        Assert.Equal("models/SmolLM-135M", config.BaseModelNameOrPath);
        Assert.Equal(Peft010Fields, Keys(File.ReadAllText(Path.Combine(named, AdapterFiles.ConfigFile))));

        string given = Directory.CreateDirectory(_folder.File("given")).FullName;
        model.SaveAdapter(given, baseModelNameOrPath: "HuggingFaceTB/SmolLM-135M");
        Assert.Equal("HuggingFaceTB/SmolLM-135M", LoraConfig.Load(Path.Combine(given, AdapterFiles.ConfigFile)).BaseModelNameOrPath);
    }

    [Fact]
    public void AConfigThatNamesItsBaseKeepsItsOwnName()
    {
        var model = new TinyCausalLm().SetBaseModelNameOrPath("local/copy");
        model.ApplyLora(new LoraConfig { TargetModules = ["q_proj"], BaseModelNameOrPath = "org/original" });
        string dir = Directory.CreateDirectory(_folder.File("own")).FullName;
        model.SaveAdapter(dir);
        Assert.Equal("org/original", LoraConfig.Load(Path.Combine(dir, AdapterFiles.ConfigFile)).BaseModelNameOrPath);
    }
}
