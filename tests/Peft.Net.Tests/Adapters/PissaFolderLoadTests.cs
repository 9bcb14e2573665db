using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Adapters;

/// <summary>
/// Loading an <c>init_lora_weights: "pissa"</c> folder rewrites the base to PiSSA's residual only once the file is
/// checked and copied: a folder that is refused leaves every base weight bit for bit as it was, and one that loads
/// gives the residual of <c>ApplyLora</c> with PiSSA.
/// </summary>
public sealed class PissaFolderLoadTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Folder(string name) => Directory.CreateDirectory(_folder.File(name)).FullName;

    private static void EditTensors(string dir, Action<Dictionary<string, Tensor>> edit)
    {
        string weights = Path.Combine(dir, AdapterFiles.WeightsFile);
        var tensors = Safetensors.Load(weights);
        edit(tensors);
        Safetensors.Save(weights, tensors, AdapterFiles.Metadata);
    }

    private static void Nudge(Tensor t, float by)
    {
        var span = t.AsSpan();
        for (int i = 0; i < span.Length; i++) span[i] += by * ((i % 5) - 2);
    }

    // A "pissa" folder trained on TinyCausalLm(seed: 9), whose q_proj and down_proj layers it adapts.
    private string TrainedPissaFolder(string name, params string[] targets)
    {
        var trained = new TinyCausalLm(seed: 9);
        trained.ApplyLora(rank: 2, alpha: 4, targetModules: targets.Length > 0 ? targets : ["q_proj", "down_proj"], init: LoraInit.PiSSA);
        foreach (var (_, layer) in PeftModelExtensions.LoraLayers(trained))
            Nudge(((LoraLinear)layer).GetLoraB("default"), 0.01f);
        string dir = Folder(name);
        trained.SaveAdapter(dir);
        return dir;
    }

    private static Dictionary<string, float[]> Values(Module model) => model.StateDict().ToDictionary(p => p.Key, p => p.Value.ToArray());

    private static void AssertUnchangedAndWithoutAdapter(Dictionary<string, float[]> before, Module model)
    {
        var after = model.StateDict();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (key, values) in before) TensorAssert.BitEqual(values, after[key].ToArray(), key);
        Assert.Empty(model.AdapterConfigs());
        Assert.Empty(PeftModelExtensions.LoraLayers(model));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("shape")]
    public void APissaFolderThatDoesNotFitLeavesEveryBaseWeightBitForBit(string defect)
    {
        string dir = TrainedPissaFolder("pissa-" + defect);
        const string downA = "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight";
        const string q1B = "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight";
        EditTensors(dir, t =>
        {
            Assert.True(t.ContainsKey(downA) && t.ContainsKey(q1B), "the saved folder has the expected keys");
            if (defect == "missing") t.Remove(q1B);
            else t[downA] = Tensor.Normal([2, 20], 0, 0.1f, new TensorRandom(1));   // in 20 where down_proj has 24
        });
        var model = new TinyCausalLm(seed: 9);
        var before = Values(model);

        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir));
        Assert.Contains(defect == "missing" ? $"missing keys [{q1B}]" : $"{downA}: file [2, 20] vs model [2, 24]", e.Message);
        AssertUnchangedAndWithoutAdapter(before, model);
    }

    [Fact]
    public void APissaFolderWhoseRankOneLayerCannotGiveIsRefusedAfterOtherLayersAndChangesNothing()
    {
        // rank_pattern gives down_proj [16, 24] r = 17, more than its SVD has; q_proj of layer 0 comes before it.
        var trained = new TinyCausalLm(seed: 9);
        trained.ApplyLora(new LoraConfig { R = 2, LoraAlpha = 4, TargetModules = ["q_proj", "down_proj"], RankPattern = new Dictionary<string, int> { ["down_proj"] = 17 } });
        string dir = Folder("pissa-rank");
        trained.SaveAdapter(dir);
        string configPath = Path.Combine(dir, AdapterFiles.ConfigFile);
        string text = File.ReadAllText(configPath);
        Assert.Contains("\"init_lora_weights\": true", text);
        File.WriteAllText(configPath, text.Replace("\"init_lora_weights\": true", "\"init_lora_weights\": \"pissa\""));
        var model = new TinyCausalLm(seed: 9);
        var before = Values(model);

        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir));
        Assert.Contains("rank 17 exceeds the base weight's smaller dimension (16×24)", e.Message);
        AssertUnchangedAndWithoutAdapter(before, model);
    }

    [Fact]
    public void APissaFolderLoadsApplyLorasResidualTheFilesAdapterAndTheFilesOwnBaseWeight()
    {
        // lm_head is adapted too and its base weight is saved in the file (save_embedding_layers): the file's value wins,
        // as after PEFT's load_state_dict; the other bases get ApplyLora's residual bit for bit.
        string dir = TrainedPissaFolder("pissa-bits", "q_proj", "down_proj", "lm_head");
        const string headKey = "base_model.model.lm_head.base_layer.weight";
        var head = Tensor.Normal([TinyCausalLm.Vocab, TinyCausalLm.Hidden], 0, 0.2f, new TensorRandom(3));
        EditTensors(dir, t => t[headKey] = head);
        var applied = new TinyCausalLm(seed: 9);
        applied.ApplyLora(rank: 2, alpha: 4, targetModules: ["q_proj", "down_proj", "lm_head"], init: LoraInit.PiSSA);
        var original = Values(new TinyCausalLm(seed: 9));
        var model = new TinyCausalLm(seed: 9);

        model.LoadAdapter(dir);

        var file = Safetensors.Load(Path.Combine(dir, AdapterFiles.WeightsFile));
        var expected = Values(applied);
        var actual = Values(model);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        int residuals = 0;
        foreach (var (key, values) in expected)
        {
            string fileKey = AdapterKeys.ToFileKey(key, "default") ?? AdapterFiles.KeyPrefix + key;
            if (file.TryGetValue(fileKey, out var saved))
            {
                TensorAssert.BitEqual(saved.ToArray(), actual[key], $"{key}: the file's values");
                continue;
            }
            TensorAssert.BitEqual(values, actual[key], $"{key}: ApplyLora's base");
            if (!key.EndsWith(".base_layer.weight", StringComparison.Ordinal)) continue;
            residuals++;
            Assert.NotEqual(original[AdapterKeys.ToBaseCheckpointName(key)], actual[key]);
        }
        Assert.Equal(4, residuals);   // q_proj and down_proj of both layers; lm_head holds the file's weight
        Assert.NotEqual(head.ToArray(), expected["lm_head.base_layer.weight"]);
    }
}
