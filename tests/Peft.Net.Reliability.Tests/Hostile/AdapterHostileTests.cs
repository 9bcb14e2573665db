using System.Text.Json.Nodes;
using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Reliability.Tests.Testing;

namespace Peft.Net.Reliability.Tests.Hostile;

/// <summary>
/// Hostile adapter folders beyond the lora-adapters suite (which covers missing fields, wrong types, r ≤ 0 and targets
/// that match nothing): a failed load never allocates for a claimed rank and always leaves the model as it was.
/// </summary>
public sealed class AdapterHostileTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _adapter;

    public AdapterHostileTests()
    {
        _adapter = _folder.Folder("adapter");
        var trained = new TinyLoraBase();
        trained.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "down_proj"], seed: 1);
        trained.SaveAdapter(_adapter);
    }

    public void Dispose() => _folder.Dispose();

    private string ConfigPath => Path.Combine(_adapter, AdapterFiles.ConfigFile);

    private void EditConfig(Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(ConfigPath))!.AsObject();
        edit(config);
        File.WriteAllText(ConfigPath, config.ToJsonString());
    }

    private static string[] Keys(TinyLoraBase model) => model.StateDict().Keys.ToArray();

    [Theory]
    [InlineData(100_000_000)]
    [InlineData(int.MaxValue)]
    [InlineData(5)]
    public void ARankTheWeightsDoNotHaveIsRejectedBeforeAllocating(int rank)
    {
        EditConfig(c => c["r"] = rank);
        var model = new TinyLoraBase();
        var before = Keys(model);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(_adapter));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 1 << 20, "the claimed rank was allocated");
        Assert.StartsWith(ConfigPath + ": ", e.Message);
        Assert.Contains($"'r' is {rank} but the adapter weights have rank 4", e.Message);
        Assert.Equal(before, Keys(model));
    }

    [Fact]
    public void AFailureHalfWayThroughBuildingTheAdapterLeavesTheModelUnchanged()
    {
        // The rank pattern gives the last target a rank no tensor can hold: q_proj and v_proj are wrapped before it fails.
        EditConfig(c => c["rank_pattern"] = new JsonObject { ["down_proj"] = int.MaxValue });
        var model = new TinyLoraBase();
        var before = Keys(model);
        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(_adapter));
        Assert.StartsWith(ConfigPath + ": ", e.Message);
        Assert.Equal(before, Keys(model));
        using var noGrad = Tensor.NoGrad();
        Assert.Equal(new TinyLoraBase().Forward(Tensor.Ones(1, 8)).AsSpan().ToArray(), model.Forward(Tensor.Ones(1, 8)).AsSpan().ToArray());
    }

    [Fact]
    public void DuplicateConfigKeysAreAFormatError()
    {
        string json = File.ReadAllText(ConfigPath);
        File.WriteAllText(ConfigPath, json.Insert(json.IndexOf('{') + 1, "\"r\": 4, "));
        var e = Assert.Throws<AdapterFormatException>(() => new TinyLoraBase().LoadAdapter(_adapter));
        Assert.StartsWith(ConfigPath + ": ", e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void ConfigWithAnUnpairedSurrogateEscape()
    {
        EditConfig(c => c["task_type"] = "PLACEHOLDER");
        File.WriteAllText(ConfigPath, File.ReadAllText(ConfigPath).Replace("PLACEHOLDER", "\\ud800"));
        var e = Assert.Throws<AdapterFormatException>(() => new TinyLoraBase().LoadAdapter(_adapter));
        Assert.Contains("not valid Unicode", e.Message);
    }
}
