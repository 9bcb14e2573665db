using Peft.Net.Adapters;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Adapters;

/// <summary>
/// An <c>init_lora_weights: "olora"</c> folder (tests/fixtures/make_olora.py): loading it rewrites each adapted linear
/// base to <c>W − scaling·Q[:, :r]·R[:r, :]</c> as PEFT's from_pretrained does, then loads A and B.
/// </summary>
public sealed class OloraFolderTests : IDisposable
{
    private static readonly int[,] Ids = AdapterTestData.Ids;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static TinyCausalLm Base() => TinyCausalLm.FromFile(AdapterTestData.FixturePath("base.safetensors"));

    [Fact]
    public void AnOloraFolderRewritesTheBaseAsPeftDoesAndMatchesPyTorch()
    {
        var fixture = Fixture.Load("adapters", "olora");
        var model = Base();
        model.Eval();
        TensorAssert.Close(fixture.Data("base_logits"), model.Logits(Ids).ToArray(), atol: 1e-4, rtol: 1e-4, what: "base model");
        var kBefore = model.StateDict()["model.layers.0.self_attn.k_proj.weight"].ToArray();

        var config = model.LoadAdapter(AdapterTestData.FixturePath("olora"));
        model.Eval();
        Assert.Equal("olora", config.InitLoraWeights);
        var state = model.StateDict();
        // float32 QR in PyTorch against double Householder here: agreement to float32 rounding of the product.
        TensorAssert.Close(fixture.Data("residual_q0"), state["model.layers.0.self_attn.q_proj.base_layer.weight"].ToArray(), 2e-6, 1e-5, "q_proj residual");
        TensorAssert.Close(fixture.Data("residual_up1"), state["model.layers.1.mlp.up_proj.base_layer.weight"].ToArray(), 2e-6, 1e-5, "up_proj (tall) residual");
        TensorAssert.Close(fixture.Data("residual_down0"), state["model.layers.0.mlp.down_proj.base_layer.weight"].ToArray(), 2e-6, 1e-5, "down_proj (wide) residual");
        TensorAssert.BitEqual(kBefore, state["model.layers.0.self_attn.k_proj.weight"].ToArray(), "a layer the adapter does not target");
        TensorAssert.Close(fixture.Data("logits"), model.Logits(Ids).ToArray(), atol: 1e-4, rtol: 1e-4, what: "OLoRA adapter on the rewritten base");
    }

    [Fact]
    public void ARankBeyondALayersQrIsRefusedAndTheModelIsLeftAsItWas()
    {
        // r = 20 > 16 = min(out, in) of q_proj: PEFT's QR has no 20 columns to give.
        var trained = Base();
        trained.ApplyLora(new LoraConfig { R = 20, LoraAlpha = 20, TargetModules = ["q_proj"] });
        string dir = Directory.CreateDirectory(_folder.File("olora-r20")).FullName;
        trained.SaveAdapter(dir);
        string path = Path.Combine(dir, AdapterFiles.ConfigFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"init_lora_weights\": true", "\"init_lora_weights\": \"olora\""));

        var model = Base();
        var before = model.StateDict().ToDictionary(p => p.Key, p => p.Value.ToArray());
        var e = Assert.Throws<AdapterFormatException>(() => model.LoadAdapter(dir));
        Assert.Contains("model.layers.0.self_attn.q_proj' has rank 20", e.Message);
        var after = model.StateDict();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (key, values) in before) Assert.Equal(values, after[key].ToArray());
    }
}
