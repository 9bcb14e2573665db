using System.Text.Json.Nodes;
using Peft.Net.Models;
using Peft.Net.Reliability.Tests.Testing;

namespace Peft.Net.Reliability.Tests.Hostile;

/// <summary>config.json inputs beyond the llama suite (which covers unsupported types, head counts, missing fields), found by the fuzz test.</summary>
public sealed class LlamaConfigHostileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string WriteConfig(Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", "llama", "config.json")))!.AsObject();
        edit(config);
        string path = _folder.File("config.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    [Theory]
    [InlineData("low_freq_factor", 1000.0)]
    [InlineData("high_freq_factor", -2147483648.0)]
    [InlineData("original_max_position_embeddings", 0.0)]
    [InlineData("factor", 0.0)]
    public void InvalidRopeScalingIsAConfigErrorNotAModelBuildError(string field, double value)
    {
        string path = WriteConfig(c => c["rope_scaling"]![field] = field == "original_max_position_embeddings" ? (int)value : value);
        var e = Assert.Throws<InvalidDataException>(() => LlamaConfig.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("rope_scaling", e.Message);
    }

    [Fact]
    public void UnpairedSurrogateEscape()
    {
        string path = WriteConfig(c => c["model_type"] = "PLACEHOLDER");
        File.WriteAllText(path, File.ReadAllText(path).Replace("PLACEHOLDER", "\\ud800"));
        var e = Assert.Throws<InvalidDataException>(() => LlamaConfig.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("not valid Unicode", e.Message);
    }
}
