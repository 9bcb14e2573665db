using Peft.Net.Core;
using Peft.Net.Core.IO.Gguf;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Models.Gguf;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Tests.Gguf;

public sealed class GgufRoundTripTests
{
    public static readonly TheoryData<string> Variants = new() { "llama", "qwen2" };

    private static readonly int[] Ids = [1, 17, 42, 99, 3, 250, 7, 200, 5, 5, 64, 128, 255];

    [Theory]
    [MemberData(nameof(Variants))]
    public void F32_export_then_FromGguf_gives_bit_identical_weights_and_logits(string variant)
    {
        using var temp = new TempFolder();
        var original = LlamaForCausalLM.FromPretrained(GgufTestFiles.LlamaFixture(variant), DType.F32);
        string tokenizer = GgufTestFiles.WriteByteLevelTokenizer(temp.File("tok"), original.Config.VocabSize);
        string path = temp.File("model.gguf");
        original.ExportGguf(path, new GgufExportOptions { TokenizerDirectory = tokenizer });

        var loaded = LlamaForCausalLM.FromGguf(path);
        Assert.Equal(original.Config with { TorchDType = DType.F32, RmsNormEps = loaded.Config.RmsNormEps, SlidingWindow = null, EosTokenIds = [] },
            loaded.Config with { SlidingWindow = null, EosTokenIds = [] });
        Assert.Equal(original.Config.EosTokenIds, loaded.Config.EosTokenIds);
        Assert.Equal((float)original.Config.RmsNormEps, (float)loaded.Config.RmsNormEps);
        var expected = original.StateDict();
        var actual = loaded.StateDict();
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, tensor) in expected)
            Assert.True(tensor.ToArray().AsSpan().SequenceEqual(actual[name].ToArray()), $"{variant}: '{name}' differs after the round trip");
        using (Tensor.NoGrad())
            Assert.Equal(original.Forward(Ids, 1, Ids.Length).ToArray(), loaded.Forward(Ids, 1, Ids.Length).ToArray());
    }

    [Fact]
    public void Llama_q_and_k_rows_are_stored_permuted_as_llama_cpp_expects()
    {
        using var temp = new TempFolder();
        var model = LlamaForCausalLM.FromPretrained(GgufTestFiles.LlamaFixture("llama"), DType.F32);
        string path = temp.File("model.gguf");
        model.ExportGguf(path, new GgufExportOptions { TokenizerDirectory = GgufTestFiles.WriteByteLevelTokenizer(temp.File("tok"), 256) });
        using var file = GgufFile.Open(path);
        var hf = model.StateDict()["model.layers.1.self_attn.k_proj.weight"].ToArray();
        var gguf = file.ReadFloat32("blk.1.attn_k.weight");
        int c = model.Config.HiddenSize, hd = model.Config.ResolvedHeadDim;
        // GGUF row h·hd + 2j + s = HF row h·hd + s·hd/2 + j; check head 1, j = 3, s = 1.
        int ggufRow = hd + 2 * 3 + 1, hfRow = hd + hd / 2 + 3;
        Assert.Equal(hf.AsSpan(hfRow * c, c).ToArray(), gguf.AsSpan(ggufRow * c, c).ToArray());
        Assert.NotEqual(hf.AsSpan(ggufRow * c, c).ToArray(), gguf.AsSpan(ggufRow * c, c).ToArray());
        Assert.Equal(model.StateDict()["model.layers.1.self_attn.v_proj.weight"].ToArray(), file.ReadFloat32("blk.1.attn_v.weight"));
        Assert.Equal([64L, 256L], file.Tensor("token_embd.weight").Ne);
        Assert.Equal("llama", file.Get("general.architecture")!.Value);
        Assert.Equal(GgufValueType.Float32, file.Get("llama.attention.layer_norm_rms_epsilon")!.Type);
        Assert.True(file.Contains("rope_freqs.weight"));
    }

    [Theory]
    [InlineData(GgufTensorType.F16)]
    [InlineData(GgufTensorType.BF16)]
    [InlineData(GgufTensorType.Q8_0)]
    public void Lower_precision_exports_are_within_the_formats_rounding(GgufTensorType type)
    {
        using var temp = new TempFolder();
        var original = LlamaForCausalLM.FromPretrained(GgufTestFiles.LlamaFixture("qwen2"), DType.F32);
        string path = temp.File("model.gguf");
        original.ExportGguf(path, new GgufExportOptions { TensorType = type, TokenizerDirectory = GgufTestFiles.WriteByteLevelTokenizer(temp.File("tok"), 256) });
        var loaded = LlamaForCausalLM.FromGguf(path);
        foreach (var (name, tensor) in original.StateDict())
        {
            float[] x = tensor.ToArray(), y = loaded.StateDict()[name].ToArray();
            if (tensor.Rank == 1)
            {
                Assert.Equal(x, y); // norms and biases stay F32
                continue;
            }
            for (int i = 0; i < x.Length; i++)
            {
                float expected = type switch
                {
                    GgufTensorType.F16 => (float)(Half)x[i],
                    GgufTensorType.BF16 => (float)BFloat16.FromSingle(x[i]),
                    _ => x[i],
                };
                if (type != GgufTensorType.Q8_0)
                {
                    Assert.Equal(expected, y[i]);
                    continue;
                }
                int start = i / 32 * 32;
                float amax = 0;
                for (int j = start; j < start + 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
                // half a quantization step, plus the f16 rounding of the scale applied to up to 127 steps.
                Assert.True(MathF.Abs(x[i] - y[i]) <= amax / 127 * 0.5f + amax * 1e-3f, $"{name}[{i}]: {x[i]} → {y[i]} (block max {amax})");
            }
        }
        using (Tensor.NoGrad())
        {
            var a = original.Forward(Ids, 1, Ids.Length).ToArray();
            var b = loaded.Forward(Ids, 1, Ids.Length).ToArray();
            double max = a.Zip(b).Max(p => Math.Abs(p.First - p.Second)), scale = a.Max(Math.Abs);
            // The per-weight bounds above are the contract; the logits only need to stay close (relative to their range).
            Assert.True(max < (type == GgufTensorType.F16 ? 0.01 : 0.1) * scale, $"{type}: logits differ by {max} (largest |logit| {scale})");
            Assert.True(max > 0, "a lossy type cannot reproduce the logits exactly");
        }
    }

    [Fact]
    public void The_llama_cpp_written_file_imports_with_its_spm_tokenizer()
    {
        string path = GgufTestFiles.LlamaCppTinyModel();
        var model = LlamaForCausalLM.FromGguf(path);
        Assert.Equal(8, model.Config.HiddenSize);
        Assert.Equal(1, model.Config.NumHiddenLayers);
        Assert.Equal(32000, model.Config.VocabSize);
        var tokenizer = GgufTokenizer.FromGguf(path);
        Assert.Equal(32000, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal(2, tokenizer.EosTokenId);
        // llama.cpp 0.30 (LLamaSharp) tokenizes "Hello world" with BOS as 1, 15043, 3186 (also checked live in Peft.Net.LlamaCpp.Tests).
        Assert.Equal([1, 15043, 3186], tokenizer.Encode("Hello world", addSpecialTokens: true));
        Assert.Equal("Hello world", tokenizer.Decode(tokenizer.Encode("Hello world", addSpecialTokens: true), skipSpecialTokens: true));
        using (Tensor.NoGrad())
        {
            var logits = model.Forward(tokenizer.Encode("Hello world", true), 1, 3).ToArray();
            Assert.Equal(3 * 32000, logits.Length);
            Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        }
    }

    [Fact]
    public void Tokenizer_round_trips_through_gguf_metadata()
    {
        using var temp = new TempFolder();
        foreach (string name in new[] { "llama2", "llama3", "gpt2" })
        {
            var hf = BpeTokenizer.FromDirectory(GgufTestFiles.TokenizerFixture(name));
            var config = LlamaFixturesConfig(hf.VocabSize);
            var model = new LlamaForCausalLM(config);
            string path = temp.File(name + ".gguf");
            model.ExportGguf(path, new GgufExportOptions { TokenizerDirectory = GgufTestFiles.TokenizerFixture(name) });
            var back = GgufTokenizer.FromGguf(path);
            foreach (string text in new[] { "Hello world", " leading space", "numbers 12345 and don't stop\n\nnew  lines", "ünïcödé ☃ 😀" })
            {
                Assert.Equal(hf.Encode(text, true), back.Encode(text, true));
                Assert.Equal(hf.Encode(text), back.Encode(text));
            }
            Assert.Equal(hf.BosTokenId, back.BosTokenId);
            Assert.Equal(hf.EosTokenId, back.EosTokenId);
        }
        Assert.Equal("{% for m in messages %}{{ m['content'] }}{% endfor %}", GgufTokenizer.ChatTemplate(temp.File("llama3.gguf")));
    }

    private static LlamaConfig LlamaFixturesConfig(int vocab) => new()
    {
        HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = vocab,
        MaxPositionEmbeddings = 64,
    };
}
