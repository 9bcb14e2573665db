using Peft.Net.Core.IO.Gguf;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;
using Peft.Net.Reliability.Tests.Testing;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>Mutated GGUF files either load or fail with <see cref="GgufFormatException"/> / <see cref="NotSupportedException"/> naming the file.</summary>
[Trait("Category", "Fuzz")]
public sealed class GgufFuzzTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Share of PEFT_FUZZ_CASES this target runs.</summary>
    public const double Share = 0.10;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void MutatedFilesFailCleanly()
    {
        var seeds = new List<byte[]> { SeedFile(_folder.File("seed.gguf")) };
        string path = _folder.File("case.gguf");
        new FuzzRunner
        {
            Target = "gguf",
            Cases = FuzzSettings.CasesFor(Share),
            MakeCase = (_, rng) =>
            {
                var bytes = ByteMutator.Mutate(seeds[rng.Next(seeds.Count)], rng, out string what);
                return new FuzzCase(0, 0, what, bytes);
            },
            Exercise = c =>
            {
                File.WriteAllBytes(path, c.Input);
                using (var file = GgufFile.Open(path))
                    foreach (var tensor in file.Tensors)
                        if (GgmlTypeInfo.CanDequantize(tensor.Type)) _ = file.ReadFloat32(tensor.Name);
                _ = GgufTokenizer.FromGguf(path).Encode("héllo wörld 123");
                _ = LlamaConfig.FromGguf(path);
            },
            Allowed = [typeof(GgufFormatException), typeof(NotSupportedException)],
            CheckMessage = (_, e) =>
            {
                if (!e.Message.StartsWith(path, StringComparison.Ordinal))
                    throw new InvalidOperationException("the message does not start with the file's path");
            },
            // The tokenizer is rebuilt through a tokenizer.json document several times the size of its metadata.
            AllocationFactor = 96,
            AllocationSlack = 2 << 20,
        }.Run(output);
    }

    /// <summary>A small llama-architecture GGUF with a SentencePiece-style vocabulary and tensors of every writable type.</summary>
    private static byte[] SeedFile(string path)
    {
        string[] tokens = ["<unk>", "<s>", "</s>", "<0x41>", "▁", "h", "é", "l", "o", "w", "ö", "r", "d", "▁h", "ll", "▁w", "1", "2", "3"];
        var writer = new GgufWriter()
            .Add("general.architecture", GgufValue.String("llama"))
            .Add("general.alignment", GgufValue.UInt32(32))
            .Add("llama.context_length", GgufValue.UInt32(64))
            .Add("llama.embedding_length", GgufValue.UInt32(32))
            .Add("llama.block_count", GgufValue.UInt32(1))
            .Add("llama.feed_forward_length", GgufValue.UInt32(64))
            .Add("llama.attention.head_count", GgufValue.UInt32(4))
            .Add("llama.attention.head_count_kv", GgufValue.UInt32(2))
            .Add("llama.attention.layer_norm_rms_epsilon", GgufValue.Float32(1e-5f))
            .Add("llama.rope.freq_base", GgufValue.Float32(10000))
            .Add("tokenizer.ggml.model", GgufValue.String("llama"))
            .Add("tokenizer.ggml.tokens", GgufValue.Strings(tokens))
            .Add("tokenizer.ggml.scores", GgufValue.Floats(tokens.Select((_, i) => -(float)i).ToArray()))
            .Add("tokenizer.ggml.token_type", GgufValue.Ints(tokens.Select((t, i) => i == 0 ? 2 : i < 3 ? 3 : t.StartsWith("<0x", StringComparison.Ordinal) ? 6 : 1).ToArray()))
            .Add("tokenizer.ggml.bos_token_id", GgufValue.UInt32(1))
            .Add("tokenizer.ggml.add_bos_token", GgufValue.Bool(true))
            .Add("tokenizer.chat_template", GgufValue.String("{{ messages }}"));
        var random = new Random(1);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        writer.AddTensor("token_embd.weight", [tokens.Length, 32], GgmlType.F16, () => Values(tokens.Length * 32));
        writer.AddTensor("blk.0.attn_norm.weight", [32], GgmlType.F32, () => Values(32));
        writer.AddTensor("blk.0.attn_q.weight", [32, 32], GgmlType.Q8_0, () => Values(32 * 32));
        writer.AddTensor("blk.0.attn_k.weight", [16, 32], GgmlType.BF16, () => Values(16 * 32));
        writer.AddTensor("blk.0.attn_v.weight", [16, 32], GgmlType.Q4_0, () => Values(16 * 32));
        writer.Write(path);
        return File.ReadAllBytes(path);
    }
}
