using Microsoft.Extensions.Logging;
using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Adapters;

/// <summary>
/// Adapter folders in the shapes PEFT writes beyond plain LoRA: save_embedding_layers, bias "all"/"lora_only",
/// lora_bias, PiSSA/OLoRA/LoftQ initialisations, layer_replication and ambiguous rank/alpha patterns.
/// </summary>
public sealed class PeftFolderVariantsTests : IDisposable
{
    private static readonly int[,] Ids = AdapterTestData.Ids;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Folder(string name) => Directory.CreateDirectory(_folder.File(name)).FullName;

    private static void EditTensors(string dir, Action<Dictionary<string, Tensor>> edit)
    {
        string weights = Path.Combine(dir, AdapterFiles.WeightsFile);
        var tensors = Safetensors.Load(weights).ToDictionary(p => p.Key, p => p.Value);
        edit(tensors);
        Safetensors.Save(weights, tensors, AdapterFiles.Metadata);
    }

    private static void EditConfig(string dir, string from, string to)
    {
        string path = Path.Combine(dir, AdapterFiles.ConfigFile);
        string text = File.ReadAllText(path);
        Assert.Contains(from, text);
        File.WriteAllText(path, text.Replace(from, to));
    }

    private static void Nudge(Tensor t, float by)
    {
        var span = t.AsSpan();
        for (int i = 0; i < span.Length; i++) span[i] += by * ((i % 7) - 3);
    }

    [Fact]
    public void ASaveEmbeddingLayersFolderLoadsItsEmbeddingAndHeadIntoTheBase()
    {
        // PEFT saves embed_tokens.base_layer.weight / lm_head.base_layer.weight when they are targeted; here the
        // trained model's base embedding and head differ from the fresh model's, so they must be loaded to match.
        var trained = new TinyCausalLm(seed: 5);
        trained.ApplyLora(rank: 2, targetModules: ["embed_tokens", "lm_head", "q_proj"]);
        AdapterTestData.Randomize(trained, "default", 4);
        var embed = ((LoraEmbedding)trained.GetSubmodule("model.embed_tokens")).BaseLayer.Parameters().Single();
        var head = ((LoraLinear)trained.GetSubmodule("lm_head")).GetDenseWeight();
        Nudge(embed, 0.01f);
        Nudge(head, 0.02f);
        ((LoraLinear)trained.GetSubmodule("lm_head")).SetDenseWeight(head);
        trained.Eval();
        var expected = trained.Logits(Ids).ToArray();
        string dir = Folder("embedding-layers");
        trained.SaveAdapter(dir);
        EditTensors(dir, t =>
        {
            t["base_model.model.model.embed_tokens.base_layer.weight"] = embed;
            t["base_model.model.lm_head.base_layer.weight"] = head;
        });

        var model = new TinyCausalLm(seed: 5);
        var log = new ListLogger();
        model.LoadAdapter(dir, logger: log);
        model.Eval();
        TensorAssert.BitEqual(expected, model.Logits(Ids).ToArray(), "logits with the saved embedding layers");
        Assert.Contains(log.Lines, l => l.Contains("embed_tokens.base_layer.weight") && l.Contains("overwriting the base"));
    }

    [Fact]
    public void SavedEmbeddingLayersOfAnotherVocabularySizeAreAShapeMismatch()
    {
        var trained = new TinyCausalLm();
        trained.ApplyLora(rank: 2, targetModules: ["embed_tokens"]);
        string dir = Folder("resized");
        trained.SaveAdapter(dir);
        EditTensors(dir, t => t["base_model.model.model.embed_tokens.base_layer.weight"] = Tensor.Zeros(TinyCausalLm.Vocab + 3, TinyCausalLm.Hidden));
        var e = Assert.Throws<AdapterFormatException>(() => new TinyCausalLm().LoadAdapter(dir));
        Assert.Contains($"base_model.model.model.embed_tokens.base_layer.weight: file [{TinyCausalLm.Vocab + 3}, {TinyCausalLm.Hidden}] vs model [{TinyCausalLm.Vocab}, {TinyCausalLm.Hidden}]", e.Message);
    }

    [Theory]
    [InlineData("all", "base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias")]
    [InlineData("lora_only", "base_model.model.model.layers.0.self_attn.q_proj.bias")]   // older PEFT's key for a wrapped layer
    public void BiasModesLoadTheTrainedBiases(string mode, string qBiasKey)
    {
        var trained = new TinyCausalLm(seed: 8);
        trained.ApplyLora(rank: 2, targetModules: ["q_proj"]);
        AdapterTestData.Randomize(trained, "default", 6);
        var qBias = ((LoraLinear)trained.GetSubmodule("model.layers.0.self_attn.q_proj")).Bias!;
        var kBias = trained.StateDict()["model.layers.0.self_attn.k_proj.bias"];
        Nudge(qBias, 0.05f);
        Nudge(kBias, -0.04f);
        trained.Eval();
        var expected = trained.Logits(Ids).ToArray();
        string dir = Folder("bias-" + mode);
        trained.SaveAdapter(dir);
        EditConfig(dir, "\"bias\": \"none\"", $"\"bias\": \"{mode}\"");
        EditTensors(dir, t =>
        {
            t[qBiasKey] = qBias;
            if (mode == "all") t["base_model.model.model.layers.0.self_attn.k_proj.bias"] = kBias;
        });

        var model = new TinyCausalLm(seed: 8);
        if (mode == "lora_only")
        {
            // k_proj's bias is not in a lora_only file: the fresh model's own k bias stays, so compare against that.
            kBias.AsSpan().Clear();
            model.StateDict()["model.layers.0.self_attn.k_proj.bias"].AsSpan().CopyTo(kBias.AsSpan());
            expected = trained.Logits(Ids).ToArray();
        }
        var config = model.LoadAdapter(dir);
        model.Eval();
        Assert.Equal(mode, config.Bias);
        TensorAssert.BitEqual(expected, model.Logits(Ids).ToArray(), $"bias \"{mode}\"");

        // Saved again, the adapter carries its biases, so it loads alike into another fresh model.
        string again = Folder("bias-again-" + mode);
        model.SaveAdapter(again);
        using (var file = SafetensorsFile.Open(Path.Combine(again, AdapterFiles.WeightsFile)))
        {
            Assert.True(file.Contains("base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias"));
            Assert.Equal(mode == "all", file.Contains("base_model.model.model.layers.0.self_attn.k_proj.bias"));
        }
        var third = new TinyCausalLm(seed: 8);
        third.LoadAdapter(again);
        third.Eval();
        TensorAssert.BitEqual(expected, third.Logits(Ids).ToArray(), $"bias \"{mode}\" saved again");
    }

    [Fact]
    public void LoraBiasAddsScaledBiasSavesLoadsAndMerges()
    {
        var model = new TinyCausalLm(seed: 3);
        model.ApplyLora(new LoraConfig { R = 2, LoraAlpha = 6, TargetModules = ["q_proj", "v_proj"], LoraBias = true });
        AdapterTestData.Randomize(model, "default", 2);
        var q = (LoraLinear)model.GetSubmodule("model.layers.1.self_attn.q_proj");
        var loraBias = q.GetLoraBias("default")!;
        Assert.Equal([TinyCausalLm.Hidden], loraBias.ShapeArray());
        Assert.All(loraBias.ToArray(), v => Assert.Equal(0f, v));   // PEFT initialises lora_B.bias to 0
        Assert.True(loraBias.RequiresGrad);
        Nudge(loraBias, 0.1f);

        // y = base(x) + scaling·(B·A·x + b_B), scaling = 6/2
        var x = Tensor.Normal([3, TinyCausalLm.Hidden], 0, 1, new TensorRandom(1));
        using (Tensor.NoGrad())
        {
            var y = q.Forward(x).ToArray();
            var baseY = q.Base.Forward(x).ToArray();
            var branch = Ops.MatMul(Ops.MatMul(x, q.GetLoraA("default"), transposeB: true), q.GetLoraB("default"), transposeB: true).ToArray();
            var b = loraBias.ToArray();
            var manual = new float[y.Length];
            for (int i = 0; i < y.Length; i++) manual[i] = baseY[i] + 3f * (branch[i] + b[i % TinyCausalLm.Hidden]);
            TensorAssert.Close(manual, y, 1e-5, 1e-5, "lora_bias forward");
        }

        model.Eval();
        var expected = model.Logits(Ids).ToArray();
        string dir = Folder("lora-bias");
        model.SaveAdapter(dir);
        Assert.Contains("\"lora_bias\": true", File.ReadAllText(Path.Combine(dir, AdapterFiles.ConfigFile)));
        using (var file = SafetensorsFile.Open(Path.Combine(dir, AdapterFiles.WeightsFile)))
            Assert.True(file.Contains("base_model.model.model.layers.1.self_attn.q_proj.lora_B.bias"));
        var loaded = new TinyCausalLm(seed: 3);
        loaded.LoadAdapter(dir);
        loaded.Eval();
        TensorAssert.BitEqual(expected, loaded.Logits(Ids).ToArray(), "reloaded lora_bias adapter");

        loaded.MergeAndUnload();   // q/v have base biases: b += scaling·b_B
        TensorAssert.Close(expected, loaded.Logits(Ids).ToArray(), 1e-5, 1e-4, "merged lora_bias adapter");

        var noBase = new TinyCausalLm();
        noBase.ApplyLora(new LoraConfig { TargetModules = ["o_proj"], LoraBias = true });
        var error = Assert.Throws<InvalidOperationException>(() => noBase.MergeAdapter());
        Assert.Contains("no bias to merge it into", error.Message);
        Assert.Throws<NotSupportedException>(() => new TinyCausalLm().ApplyLora(new LoraConfig { TargetModules = ["q_proj"], LoraBias = true, UseDora = true }));
    }

    [Fact]
    public void LoraBiasTensorsWithoutTheConfigFieldAreNamedAsSuch()
    {
        var model = new TinyCausalLm();
        model.ApplyLora(new LoraConfig { TargetModules = ["q_proj"], LoraBias = true });
        string dir = Folder("bias-no-flag");
        model.SaveAdapter(dir);
        EditConfig(dir, "  \"lora_bias\": true,\n", "");
        var e = Assert.Throws<AdapterFormatException>(() => new TinyCausalLm().LoadAdapter(dir));
        Assert.Contains("lora_bias: true in the tensors but not in adapter_config.json", e.Message);
    }

    [Fact]
    public void APissaFolderReRunsPissaOnTheOriginalBaseAsPeftDoes()
    {
        var trained = new TinyCausalLm(seed: 9);
        trained.ApplyLora(rank: 2, alpha: 4, targetModules: ["q_proj", "down_proj"], init: LoraInit.PiSSA);
        foreach (var (_, layer) in PeftModelExtensions.LoraLayers(trained))
            Nudge(((LoraLinear)layer).GetLoraB("default"), 0.01f);   // "training" moves B away from its PiSSA start
        trained.Eval();
        var expected = trained.Logits(Ids).ToArray();
        string dir = Folder("pissa");
        trained.SaveAdapter(dir);
        Assert.Contains("\"init_lora_weights\": \"pissa\"", File.ReadAllText(Path.Combine(dir, AdapterFiles.ConfigFile)));

        var model = new TinyCausalLm(seed: 9);   // the original base, as PEFT users load it
        model.LoadAdapter(dir);
        model.Eval();
        TensorAssert.Close(expected, model.Logits(Ids).ToArray(), 1e-4, 1e-4, "PiSSA adapter on the original base");
    }

    [Theory]
    [InlineData("loftq")]
    [InlineData("pissa_niter_4")]
    [InlineData("corda")]
    public void FoldersWhoseInitRewritesTheBaseAreRefusedWithHowToConvert(string init)
    {
        var trained = new TinyCausalLm();
        trained.ApplyLora(rank: 2, targetModules: ["q_proj"]);
        string dir = Folder("init-" + init);
        trained.SaveAdapter(dir);
        EditConfig(dir, "\"init_lora_weights\": true", $"\"init_lora_weights\": \"{init}\"");
        var model = new TinyCausalLm();
        var keys = model.StateDict().Keys.ToArray();
        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir));
        Assert.Contains($"'init_lora_weights' is \"{init}\"", e.Message);
        Assert.Contains("path_initial_model_for_weight_conversion", e.Message);
        Assert.Contains("convert_pissa_to_lora", e.Message);
        Assert.Equal(keys, model.StateDict().Keys.ToArray());
    }

    [Fact]
    public void LayerReplicationIsRefusedNamingTheField()
    {
        var trained = new TinyCausalLm();
        trained.ApplyLora(rank: 2, targetModules: ["q_proj"]);
        string dir = Folder("replication");
        trained.SaveAdapter(dir);
        EditConfig(dir, "\"layer_replication\": null", "\"layer_replication\": [[0, 2], [1, 2]]");
        var e = Assert.Throws<AdapterFormatException>(() => new TinyCausalLm().LoadAdapter(dir));
        Assert.Contains("layer_replication [[0,2],[1,2]] is not supported", e.Message);
    }

    [Fact]
    public void PatternKeysThatPeftVersionsResolveDifferentlyAreReported()
    {
        var config = LoraConfig.FromJson("""
            {"peft_type": "LORA", "r": 8, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
             "rank_pattern": {"q_proj": 4}, "alpha_pattern": {"layers.0.self_attn.q_proj": 32}}
            """);
        var modules = new[] { "model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj", "model.layers.0.self_attn.v_proj" };
        var found = Assert.Single(config.PatternKeyDisagreements(modules));
        // PEFT >= 0.14 looks rank and alpha up separately; PEFT <= 0.13 found "q_proj" first and used it for both.
        Assert.Equal(new PatternKeyDisagreement("model.layers.0.self_attn.q_proj", 4, 32, 4, 8), found);

        var same = LoraConfig.FromJson("""{"peft_type": "LORA", "rank_pattern": {"q_proj": 4}, "alpha_pattern": {"q_proj": 16}}""");
        Assert.Empty(same.PatternKeyDisagreements(modules));
        // A key matching the whole name: ".*\.KEY$" needs a dot before the key, so PEFT <= 0.13 never applies it.
        var whole = LoraConfig.FromJson("""{"peft_type": "LORA", "rank_pattern": {"model.layers.1.self_attn.q_proj": 2}}""");
        Assert.Equal(new PatternKeyDisagreement("model.layers.1.self_attn.q_proj", 2, 8, 8, 8), Assert.Single(whole.PatternKeyDisagreements(modules)));

        var trained = new TinyCausalLm();
        trained.ApplyLora(config);
        string dir = Folder("patterns");
        trained.SaveAdapter(dir);
        var log = new ListLogger();
        new TinyCausalLm().LoadAdapter(dir, logger: log);
        var warning = Assert.Single(log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal));
        Assert.Contains("module 'model.layers.0.self_attn.q_proj'", warning);
        Assert.Contains("lora_alpha = 32 (PEFT >= 0.14, used here) but r = 4, lora_alpha = 8 in PEFT <= 0.13", warning);
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add($"{logLevel}: {formatter(state, exception)}");
    }
}
