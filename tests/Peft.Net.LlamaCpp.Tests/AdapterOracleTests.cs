using Peft.Net.Core;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Gguf;

namespace Peft.Net.LlamaCpp.Tests;

/// <summary>llama.cpp with the base GGUF plus Peft.Net's LoRA adapter GGUF computes what Peft.Net's merged model computes.</summary>
public sealed class AdapterOracleTests
{
    private static readonly int[] Prompt = [1, 60, 61, 62, 9, 33, 120, 7];

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // rsLoRA: PEFT's alpha/√r scale folded into lora_b
    public void Base_gguf_plus_adapter_gguf_matches_the_merged_model(bool rsLora)
    {
        using var temp = new TempFolder();
        var model = OracleModels.RandomGqaLlama(seed: 11);
        model.Eval();
        string basePath = OracleModels.Export(model, temp.Path, "base");

        model.ApplyLora(new LoraConfig
        {
            R = 4, LoraAlpha = 16, UseRsLora = rsLora,
            TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        });
        // B starts at zero (a no-op adapter); give it values so the adapter changes the output.
        var random = new TensorRandom(5);
        foreach (var (name, parameter) in model.NamedParameters().Where(p => p.Name.Contains("lora_B", StringComparison.Ordinal)).ToList())
            Tensor.Normal(parameter.ShapeArray(), 0, 0.05f, random).AsSpan().CopyTo(parameter.AsSpan());
        string adapterFolder = temp.File("adapter");
        model.SaveAdapter(adapterFolder);
        string adapterPath = temp.File("adapter.gguf");
        GgufLoraAdapter.Export(adapterFolder, model.Config, adapterPath);

        var merged = (LlamaForCausalLM)model.MergeAndUnload();
        merged.Eval();
        var ours = OracleModels.Greedy(merged, Prompt, 20);
        using var baseOnly = new LlamaCppRunner(basePath);
        Assert.NotEqual(ours, baseOnly.Greedy(Prompt, 20)); // the adapter matters
        using var llama = new LlamaCppRunner(basePath, adapterPath);
        Assert.Equal(ours, llama.Greedy(Prompt, 20));
        ExportOracleTests.AssertLogitsClose(OracleModels.Logits(merged, Prompt), llama.Logits(Prompt));
    }
}
