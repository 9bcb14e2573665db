using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Models;
using TorchLlama;
using TorchSharp;
using static Peft.Net.TorchSharp.Tests.TorchLlamaTesting;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>
/// The TorchSharp Llama and the engine's <see cref="LlamaForCausalLM"/> on the same HF checkpoint (GQA) and the same
/// adapter folder: the same logits (≤ 1e-5 relative) and greedy ids, whichever side wrote the adapter.
/// </summary>
public class TorchLlamaAdapterTests
{
    public static readonly TheoryData<bool, bool> DoraAndTied = new() { { false, false }, { false, true }, { true, false } };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Without_adapter_logits_and_greedy_ids_equal_the_engine(bool tied)
    {
        using var dir = new TorchLlamaTempDirectory();
        var engine = WriteCheckpoint(GqaConfig(tied), dir.Sub("base"));
        var model = TorchLlamaCheckpoint.Load(dir.Sub("base"));

        foreach (var prompt in Prompts(259))
        {
            AssertClose(EngineLogits(engine, prompt), TorchLogits(model, prompt), 1e-5, $"prompt of {prompt.Length}");
            Assert.Equal(engine.Generate(prompt, new GenerationOptions { MaxNewTokens = 24, StopTokens = [] }), model.GenerateGreedy(prompt, 24, []));
        }
    }

    [Theory]
    [MemberData(nameof(DoraAndTied))]
    public void Adapter_saved_by_the_engine_gives_the_same_logits_and_greedy_ids(bool dora, bool tied)
    {
        using var dir = new TorchLlamaTempDirectory();
        var engine = WriteCheckpoint(GqaConfig(tied), dir.Sub("base"));
        var baseLogits = EngineLogits(engine, Prompts(259)[0]);
        if (dora) engine.ApplyDora(rank: 4, alpha: 8, targetRegex: "all-linear");
        else engine.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]);
        // B starts at zero; a trained adapter has B ≠ 0 (and, for DoRA, m ≠ ‖W + s·B·A‖).
        var random = new TensorRandom(11);
        foreach (var (name, parameter) in engine.NamedParameters().Where(p => p.Name.Contains("lora_B", StringComparison.Ordinal)))
            Tensor.Normal(parameter.ShapeArray(), 0f, 0.2f, random).AsSpan().CopyTo(parameter.AsSpan());
        engine.SaveAdapter(dir.Sub("adapter"));

        var model = TorchLlamaCheckpoint.Load(dir.Sub("base"));
        model.LoadAdapter(dir.Sub("adapter"));

        var adapted = EngineLogits(engine, Prompts(259)[0]);
        Assert.True(MaxDiff(baseLogits, adapted) > 1e-2, "the adapter must change the logits for this test to mean anything");
        foreach (var prompt in Prompts(259))
        {
            AssertClose(EngineLogits(engine, prompt), TorchLogits(model, prompt), 1e-5, $"{(dora ? "DoRA" : "LoRA")} prompt of {prompt.Length}");
            Assert.Equal(engine.Generate(prompt, new GenerationOptions { MaxNewTokens = 24, StopTokens = [] }), model.GenerateGreedy(prompt, 24, []));
        }
    }

    [Fact]
    public void Adapter_trained_on_TorchSharp_loads_into_the_engine_and_back_with_identical_outputs()
    {
        using var dir = new TorchLlamaTempDirectory();
        WriteCheckpoint(GqaConfig(), dir.Sub("base"));
        var model = TorchLlamaCheckpoint.Load(dir.Sub("base"));
        model.ApplyLora(rank: 8, alpha: 16, dropout: 0.1f);
        var losses = TrainFewSteps(model, steps: 6);
        Assert.True(losses[^1] < losses[0], $"training did not lower the loss: {string.Join(", ", losses)}");
        model.SaveAdapter(dir.Sub("from-torch"), baseModelNameOrPath: dir.Sub("base"));

        var engine = LlamaForCausalLM.FromPretrained(dir.Sub("base"), DType.F32);
        engine.LoadAdapter(dir.Sub("from-torch"));
        var torchLogits = Prompts(259).Select(p => TorchLogits(model, p)).ToList();
        for (int i = 0; i < torchLogits.Count; i++)
        {
            var prompt = Prompts(259)[i];
            AssertClose(EngineLogits(engine, prompt), torchLogits[i], 1e-5, $"engine with the TorchSharp adapter, prompt of {prompt.Length}");
            Assert.Equal(engine.Generate(prompt, new GenerationOptions { MaxNewTokens = 24, StopTokens = [] }), model.GenerateGreedy(prompt, 24, []));
        }

        // And back: the engine writes the adapter it loaded; a fresh TorchSharp model reads it and computes the very same numbers.
        engine.SaveAdapter(dir.Sub("from-engine"));
        var again = TorchLlamaCheckpoint.Load(dir.Sub("base"));
        again.LoadAdapter(dir.Sub("from-engine"));
        for (int i = 0; i < torchLogits.Count; i++)
            Assert.Equal(torchLogits[i], TorchLogits(again, Prompts(259)[i]));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.Sub("from-torch"), "adapter_config.json")),
            File.ReadAllBytes(Path.Combine(dir.Sub("from-engine"), "adapter_config.json")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir.Sub("from-torch"), "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(dir.Sub("from-engine"), "adapter_model.safetensors")));
    }

    /// <summary>A few AdamW steps on a right-padded batch of sequences of different lengths (−100 on padding); the losses.</summary>
    private static List<float> TrainFewSteps(TorchLlamaForCausalLM model, int steps)
    {
        var rows = Prompts(259);
        int time = rows.Max(r => r.Length);
        var ids = new long[rows.Length * time];
        var labels = new long[rows.Length * time];
        Array.Fill(labels, TorchLlamaForCausalLM.IgnoreIndex);
        for (int b = 0; b < rows.Length; b++)
            for (int t = 0; t < rows[b].Length; t++)
                ids[b * time + t] = labels[b * time + t] = rows[b][t];
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        Assert.NotEmpty(trainable);
        var optimizer = torch.optim.AdamW(trainable, lr: 1e-2);
        model.train();
        var losses = new List<float>();
        for (int s = 0; s < steps; s++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = model.Loss(torch.tensor(ids, [rows.Length, time]), torch.tensor(labels, [rows.Length, time]));
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        model.eval();
        return losses;
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
}
