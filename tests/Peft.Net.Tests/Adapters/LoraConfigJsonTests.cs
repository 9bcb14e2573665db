using System.Text.Json.Nodes;
using Peft.Net.Adapters;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Adapters;

public class LoraConfigJsonTests
{
    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    public void WritesAPeftConfigByteForByteAsPythonDoes(string adapterCase)
    {
        // The fixture was written by Python's json.dumps(indent=2, sort_keys=True), as PEFT 0.14's save_pretrained does.
        // Peft.Net writes the same bytes except "lora_bias": false, a PEFT-0.14 field left out at its default so that
        // PEFT 0.10–0.13 load the file (PeftConfigFields).
        string path = AdapterTestData.FixturePath(adapterCase, AdapterFiles.ConfigFile);
        var config = LoraConfig.Load(path);
        string expected = File.ReadAllText(path);
        Assert.Contains("  \"lora_bias\": false,\n", expected);
        Assert.Equal(expected.Replace("  \"lora_bias\": false,\n", ""), config.ToJson());
    }

    [Fact]
    public void ReadsPeftFieldsIntoTypedProperties()
    {
        var lora = LoraConfig.Load(AdapterTestData.FixturePath("lora", AdapterFiles.ConfigFile));
        Assert.Equal(4, lora.R);
        Assert.Equal(8, lora.LoraAlpha);
        Assert.Equal(["q_proj", "v_proj", "down_proj", "embed_tokens"], lora.TargetModules);
        Assert.Null(lora.TargetModulesRegex);
        Assert.Equal(["lm_head"], lora.ModulesToSave);
        Assert.Equal(2, lora.RankFor("model.layers.0.mlp.down_proj"));
        Assert.Equal(4, lora.RankFor("model.layers.0.self_attn.q_proj"));
        Assert.Equal(3, lora.AlphaFor("model.layers.1.self_attn.v_proj"));
        Assert.Equal(8, lora.AlphaFor("model.layers.0.self_attn.v_proj"));
        Assert.Equal("CAUSAL_LM", lora.TaskType);
        Assert.Equal("tiny-causal-lm", lora.BaseModelNameOrPath);
        Assert.Equal(LoraInit.Default, lora.Init);
        // Fields not modelled are kept.
        Assert.Equal("megatron.core", lora.ExtraFields["megatron_core"]!.GetValue<string>());

        var dora = LoraConfig.Load(AdapterTestData.FixturePath("dora", AdapterFiles.ConfigFile));
        Assert.True(dora.UseDora);
        Assert.True(dora.UseRsLora);
        Assert.Equal(@".*\.(q_proj|k_proj|o_proj|up_proj|embed_tokens)", dora.TargetModulesRegex);
        Assert.Equal(6 / 2f, dora.ScalingFor(4, 6));
    }

    [Fact]
    public void AMinimalConfigGetsPeftDefaultsAndUnknownFieldsSurviveARoundTrip()
    {
        var config = LoraConfig.FromJson("""{"peft_type": "LORA", "target_modules": ["q_proj"], "some_future_field": {"x": [1, 2]}, "init_lora_weights": "gaussian"}""");
        Assert.Equal(8, config.R);
        Assert.Equal(8, config.LoraAlpha);
        Assert.Equal(0, config.LoraDropout);
        Assert.Equal("none", config.Bias);
        Assert.Null(config.TaskType);
        Assert.Equal(LoraInit.Gaussian, config.Init);
        var written = JsonNode.Parse(config.ToJson())!.AsObject();
        Assert.Equal("""{"x":[1,2]}""", written["some_future_field"]!.ToJsonString());
        Assert.Equal("gaussian", written["init_lora_weights"]!.GetValue<string>());
        Assert.True(written["inference_mode"]!.GetValue<bool>());
        Assert.Equal(8, written["lora_alpha"]!.GetValue<long>());
        var keys = written.Select(p => p.Key).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
    }

    [Theory]
    [InlineData("""{"r": 8}""", "required field 'peft_type' is missing")]
    [InlineData("""{"peft_type": "LORA", "r": 0}""", "'r' must be a positive integer, found 0")]
    [InlineData("""{"peft_type": "LORA", "r": -3}""", "'r' must be a positive integer, found -3")]
    [InlineData("""{"peft_type": "LORA", "r": "8"}""", "field 'r' must be an integer, found the string \"8\"")]
    [InlineData("""{"peft_type": "LORA", "r": 8.5}""", "field 'r' must be an integer, found the number 8.5")]
    [InlineData("""{"peft_type": "LORA", "lora_alpha": "16"}""", "field 'lora_alpha' must be a number, found the string \"16\"")]
    [InlineData("""{"peft_type": "LORA", "target_modules": 3}""", "field 'target_modules' must be a list of strings, a string or null, found the number 3")]
    [InlineData("""{"peft_type": "LORA", "target_modules": ["q", 1]}""", "field 'target_modules' must be a list of strings, found the number 1")]
    [InlineData("""{"peft_type": "LORA", "use_dora": "yes"}""", "field 'use_dora' must be true or false, found the string \"yes\"")]
    [InlineData("""{"peft_type": "LORA", "rank_pattern": {"q_proj": 0}}""", "'rank_pattern' entry \"q_proj\" must be a positive integer, found 0")]
    [InlineData("""{"peft_type": "LORA", "rank_pattern": []}""", "field 'rank_pattern' must be an object, found an array")]
    [InlineData("""{"peft_type": "LORA", "lora_dropout": 1.5}""", "'lora_dropout' must be in [0, 1), found 1.5")]
    [InlineData("""{"peft_type": "PREFIX_TUNING"}""", "only \"LORA\" adapters are supported")]
    [InlineData("""[1, 2]""", "expected a JSON object, found an array")]
    [InlineData("""{"peft_type": "LORA",""", "not valid JSON")]
    public void MalformedConfigsFailNamingTheFileAndTheField(string json, string expected)
    {
        var e = Assert.Throws<AdapterFormatException>(() => LoraConfig.FromJson(json, "dir/adapter_config.json"));
        Assert.StartsWith("dir/adapter_config.json: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(0.05, "0.05")]
    [InlineData(0.0, "0.0")]
    [InlineData(16.0, "16.0")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(-2.5e-7, "-2.5e-07")]
    [InlineData(123.456, "123.456")]
    public void FloatsAreWrittenAsPythonRepr(double value, string expected) => Assert.Equal(expected, PythonJson.FloatRepr(value));

    [Fact]
    public void StringsAreEscapedAsPythonEnsureAscii()
    {
        var node = new JsonObject { ["a"] = "q\"\\\n\u00e9\u2713<+>" };
        Assert.Equal("{\n  \"a\": \"q\\\"\\\\\\n\\u00e9\\u2713<+>\"\n}", PythonJson.Serialize(node));
    }
}
