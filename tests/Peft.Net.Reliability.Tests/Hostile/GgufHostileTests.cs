using Peft.Net.Core.IO.Gguf;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;
using Peft.Net.Reliability.Tests.Testing;

namespace Peft.Net.Reliability.Tests.Hostile;

/// <summary>Hostile GGUF files: each gives a <see cref="GgufFormatException"/> (or NotSupportedException) naming the file, the key or tensor, and the problem.</summary>
public sealed class GgufHostileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private GgufFormatException Rejects(byte[] bytes, string expected)
    {
        string path = _folder.File(Guid.NewGuid().ToString("N") + ".gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<GgufFormatException>(() =>
        {
            using var file = GgufFile.Open(path);
            foreach (var tensor in file.Tensors) _ = file.ReadFloat32(tensor.Name);
        });
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
        return e;
    }

    /// <summary>One F32 tensor "w" of 8 values: a valid file to start from.</summary>
    private static byte[] Valid(Action<GgufBytes>? keys = null, ulong kvs = 0, float value = 1)
    {
        var b = new GgufBytes(tensors: 1, kvs: kvs);
        keys?.Invoke(b);
        b.Tensor("w", [8], 0, 0).Align();
        for (int i = 0; i < 8; i++) b.F32(value);
        return b.ToArray();
    }

    [Fact]
    public void The_valid_base_file_opens()
    {
        string path = _folder.File("ok.gguf");
        File.WriteAllBytes(path, Valid());
        using var file = GgufFile.Open(path);
        Assert.Equal(Enumerable.Repeat(1f, 8), file.ReadFloat32("w"));
    }

    [Fact]
    public void Every_truncation_is_reported_as_truncated_or_bounded()
    {
        var bytes = Valid(b => b.KeyString("general.name", "x").KeyU32("general.alignment", 32), kvs: 2);
        for (int length = 0; length < bytes.Length; length++)
        {
            var e = Rejects(bytes[..length], "");
            Assert.Matches("truncated|not a GGUF file|run past the end|more than the file can hold", e.Problem);
        }
    }

    [Theory]
    [InlineData(1u, "obsolete")]
    [InlineData(4u, "newer than this reader")]
    [InlineData(0x03000000u, "byte-swapped")]
    public void Bad_versions(uint version, string message) => Rejects(new GgufBytes(version).ToArray(), message);

    [Fact]
    public void Not_gguf_at_all() => Rejects("GGML\0\0\0\0"u8.ToArray(), "not a GGUF file");

    [Fact]
    public void Counts_larger_than_the_file() => Rejects(new GgufBytes(tensors: ulong.MaxValue).ToArray(), "tensor count");

    [Fact]
    public void A_string_longer_than_the_file() => Rejects(new GgufBytes(kvs: 1).U64(1UL << 20).Raw(new byte[64]).ToArray(), "claims 1048576 bytes");

    [Fact]
    public void An_array_longer_than_the_file() =>
        Rejects(new GgufBytes(kvs: 1).String("a").U32(9).U32(4).U64(1UL << 33).ToArray(), "key 'a': array length");

    [Fact]
    public void A_string_over_the_1_GiB_limit() => Rejects(new GgufBytes(kvs: 1).U64(1UL << 40).Raw(new byte[64]).ToArray(), "over the 1 GiB limit");

    [Fact]
    public void Nested_arrays() => Rejects(new GgufBytes(kvs: 1).String("a").U32(9).U32(9).U64(1).ToArray(), "nested arrays");

    [Fact]
    public void Unknown_value_type() => Rejects(new GgufBytes(kvs: 1).String("a").U32(13).ToArray(), "unknown value type 13");

    [Fact]
    public void Invalid_utf8_key() => Rejects(new GgufBytes(kvs: 1).StringBytes([0xC3, 0x28]).U32(4).U32(0).ToArray(), "not valid UTF-8");

    [Fact]
    public void Bool_other_than_0_or_1() => Rejects(new GgufBytes(kvs: 1).String("b").U32(7).Raw(2).ToArray(), "bool value is 2");

    [Fact]
    public void Duplicate_and_empty_keys()
    {
        Rejects(Valid(b => b.KeyU32("k", 1).KeyU32("k", 2), kvs: 2), "key 'k': appears twice");
        Rejects(Valid(b => b.KeyU32("", 1), kvs: 1), "the key is empty");
    }

    [Fact]
    public void Alignment_must_be_a_u32_power_of_two()
    {
        Rejects(Valid(b => b.KeyU32("general.alignment", 24), kvs: 1), "power of two");
        Rejects(Valid(b => b.KeyString("general.alignment", "32"), kvs: 1), "must be a u32");
    }

    [Fact]
    public void Bad_tensor_records()
    {
        Rejects(new GgufBytes(tensors: 1).Tensor(new string('n', 64), [8], 0, 0).Align().Raw(new byte[32]).ToArray(), "ggml allows at most 63");
        Rejects(new GgufBytes(tensors: 1).Tensor("w", [1, 1, 1, 1, 1], 0, 0).Align().Raw(new byte[32]).ToArray(), "has 5 dimensions");
        Rejects(new GgufBytes(tensors: 1).Tensor("w", [8], 99, 0).Align().Raw(new byte[32]).ToArray(), "unknown or unsupported ggml type 99");
        Rejects(new GgufBytes(tensors: 1).Tensor("w", [40], 8, 0).Align().Raw(new byte[64]).ToArray(), "not a multiple of the Q8_0 block size 32");
        Rejects(new GgufBytes(tensors: 1).Tensor("w", [8], 0, 32).Align().Raw(new byte[64]).ToArray(), "has offset 32, expected 0");
        Rejects(new GgufBytes(tensors: 1).Tensor("w", [64], 0, 0).Align().Raw(new byte[32]).ToArray(), "run past the end of the file");
        Rejects(new GgufBytes(tensors: 2).Tensor("w", [8], 0, 0).Tensor("w", [8], 0, 32).Align().Raw(new byte[64]).ToArray(), "tensor 'w': appears twice");
        Rejects(new GgufBytes(tensors: 1).Tensor("w", [1UL << 40], 0, 0).Align().ToArray(), "too large");
        Rejects(new GgufBytes(tensors: 1).Tensor("w", [256], 10, 0).Align().Raw(new byte[84]).ToArray(), "type Q2_K is not supported");
    }

    [Fact]
    public void Non_finite_weights() => Rejects(Valid(value: float.NaN), "element 0 is NaN");

    [Fact]
    public void A_model_file_whose_metadata_does_not_match_its_tensors()
    {
        string path = _folder.File("model.gguf");
        var b = new GgufBytes(tensors: 1, kvs: 8)
            .KeyString("general.architecture", "llama")
            .KeyU32("llama.embedding_length", 8).KeyU32("llama.block_count", 1).KeyU32("llama.feed_forward_length", 16)
            .KeyU32("llama.attention.head_count", 2).KeyU32("llama.context_length", 32)
            .String("llama.attention.layer_norm_rms_epsilon").U32(6).F32(1e-5f)
            .KeyString("llama.rope.freq_base", "10000") // wrong type
            .Tensor("token_embd.weight", [8, 4], 0, 0).Align().Raw(new byte[128]);
        File.WriteAllBytes(path, b.ToArray());
        var e = Assert.Throws<GgufFormatException>(() => LlamaForCausalLM.FromGguf(path));
        Assert.Contains("key 'llama.rope.freq_base': has type String, expected f32", e.Message);
    }

    [Fact]
    public void An_adapter_or_unknown_architecture_is_not_a_model()
    {
        string adapter = _folder.File("adapter.gguf");
        File.WriteAllBytes(adapter, new GgufBytes(kvs: 2).KeyString("general.architecture", "llama").KeyString("general.type", "adapter").ToArray());
        Assert.Contains("a model file is expected", Assert.Throws<GgufFormatException>(() => LlamaForCausalLM.FromGguf(adapter)).Message);
        string mamba = _folder.File("mamba.gguf");
        File.WriteAllBytes(mamba, new GgufBytes(kvs: 1).KeyString("general.architecture", "mamba").ToArray());
        Assert.Contains("architecture 'mamba' is not supported", Assert.Throws<NotSupportedException>(() => LlamaForCausalLM.FromGguf(mamba)).Message);
    }

    [Fact]
    public void Tokenizer_metadata_problems_are_named()
    {
        string noTokens = _folder.File("no-tokens.gguf");
        File.WriteAllBytes(noTokens, new GgufBytes(kvs: 1).KeyString("tokenizer.ggml.model", "llama").ToArray());
        Assert.Contains("key 'tokenizer.ggml.tokens': is missing", Assert.Throws<GgufFormatException>(() => GgufTokenizer.FromGguf(noTokens)).Message);
        string duplicate = _folder.File("duplicate.gguf");
        File.WriteAllBytes(duplicate, new GgufBytes(kvs: 2).KeyString("tokenizer.ggml.model", "llama")
            .String("tokenizer.ggml.tokens").U32(9).U32(8).U64(2).String("a").String("a").ToArray());
        Assert.Contains("token 1 'a' appears twice", Assert.Throws<GgufFormatException>(() => GgufTokenizer.FromGguf(duplicate)).Message);
        string bpe = _folder.File("bpe.gguf");
        File.WriteAllBytes(bpe, new GgufBytes(kvs: 2).KeyString("tokenizer.ggml.model", "gpt2")
            .String("tokenizer.ggml.tokens").U32(9).U32(8).U64(1).String("a").ToArray());
        Assert.Contains("'tokenizer.ggml.merges': is missing", Assert.Throws<GgufFormatException>(() => GgufTokenizer.FromGguf(bpe)).Message);
    }
}
