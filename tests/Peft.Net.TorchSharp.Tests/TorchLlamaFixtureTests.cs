using Peft.Net.Core;
using Peft.Net.Models;
using TorchLlama;
using TorchSharp;
using static Peft.Net.TorchSharp.Tests.TorchLlamaTesting;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>
/// The TorchSharp Llama of samples/TorchSharpFineTune on the PyTorch-made checkpoints of tests/fixtures/make_llama.py:
/// the same logits and greedy ids as PyTorch's reference and as the engine's <see cref="LlamaForCausalLM"/>.
/// </summary>
public class TorchLlamaFixtureTests
{
    // llama: untied head, llama3 rope scaling, θ 500000, MHA. llama-bf16: GQA 4/2, tied head, BF16 weights.
    public static readonly TheoryData<string> Variants = new() { "llama", "llama-bf16" };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Batch_logits_match_pytorch_and_the_engine(string variant)
    {
        var fixture = FixtureJson(variant);
        var rows = fixture.GetProperty("meta").GetProperty("batch_ids").EnumerateArray().Select(Ints).ToArray();
        var model = TorchLlamaCheckpoint.Load(FixtureFolder(variant));
        var engine = LlamaForCausalLM.FromPretrained(FixtureFolder(variant), DType.F32);

        float[] logits;
        using (torch.no_grad())
        {
            var input = torch.tensor(rows.SelectMany(r => r).Select(i => (long)i).ToArray(), [rows.Length, rows[0].Length]);
            logits = model.forward(input).contiguous().data<float>().ToArray();
        }
        AssertClose(Floats(fixture, "batch_logits"), logits, 1e-5, $"{variant}: TorchSharp vs PyTorch");
        float[] engineLogits;
        using (Tensor.NoGrad())
            engineLogits = engine.Forward(rows.SelectMany(r => r).ToArray(), rows.Length, rows[0].Length).ToArray();
        AssertClose(engineLogits, logits, 1e-5, $"{variant}: TorchSharp vs engine");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Greedy_ids_equal_pytorch_and_the_engine(string variant)
    {
        var fixture = FixtureJson(variant);
        var prompt = Ints(fixture.GetProperty("meta").GetProperty("prompt"));
        var model = TorchLlamaCheckpoint.Load(FixtureFolder(variant));
        var engine = LlamaForCausalLM.FromPretrained(FixtureFolder(variant), DType.F32);

        var ids = model.GenerateGreedy(prompt, 32, []);
        Assert.Equal(Ints(fixture.GetProperty("meta").GetProperty("greedy")), ids);
        Assert.Equal(engine.Generate(prompt, new GenerationOptions { MaxNewTokens = 32, StopTokens = [] }), ids);
    }

    [Fact]
    public void Tied_checkpoint_shares_one_parameter_between_embedding_and_head()
    {
        var model = TorchLlamaCheckpoint.Load(FixtureFolder("llama-bf16"));
        var state = model.state_dict();
        Assert.True(state.ContainsKey("lm_head.weight"));
        using (torch.no_grad())
            state["model.embed_tokens.weight"][3, 5].fill_(123f);
        Assert.Equal(123f, state["lm_head.weight"][3, 5].item<float>());
        Assert.DoesNotContain(state.Keys, k => k.Contains("rotary_emb", StringComparison.Ordinal));
    }
}
