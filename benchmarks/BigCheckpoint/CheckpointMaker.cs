using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Models;

namespace BigCheckpoint;

/// <summary>
/// Writes a random BF16 Llama checkpoint without ever holding more than one 1 MiB chunk of it: matrices uniform in
/// ±0.02·√3 (standard deviation 0.02, the usual initialiser range), norm weights 1. Tensor order and names are Hugging
/// Face's; lm_head is untied.
/// </summary>
internal static class CheckpointMaker
{
    private const int ChunkElements = 1 << 19;

    public static int Make(string directory, Options options)
    {
        var config = new LlamaConfig
        {
            HiddenSize = options.Int("--dim", 2048),
            NumHiddenLayers = options.Int("--layers", 22),
            NumAttentionHeads = options.Int("--heads", 32),
            NumKeyValueHeads = options.Int("--kv-heads", 4),
            IntermediateSize = options.Int("--ffn", 5632),
            VocabSize = options.Int("--vocab", 32000),
            MaxPositionEmbeddings = 2048,
            TorchDType = DType.BF16,
            EosTokenIds = [2],
            BosTokenId = 1,
        };
        config.Validate();
        Directory.CreateDirectory(directory);
        var specs = Tensors(config).Select(t => new SafetensorsTensorSpec(t.Name, DType.BF16, t.Shape)).ToList();
        var random = new TensorRandom(2024);
        var chunk = new ushort[ChunkElements];
        using (var writer = new SafetensorsWriter(Path.Combine(directory, "model.safetensors"), specs, new Dictionary<string, string> { ["format"] = "pt" }))
        {
            foreach (var spec in specs)
            {
                bool norm = spec.Shape.Length == 1;
                for (long done = 0; done < spec.ElementCount; done += ChunkElements)
                {
                    int count = (int)Math.Min(ChunkElements, spec.ElementCount - done);
                    Fill(chunk.AsSpan(0, count), norm, random);
                    writer.WriteBytes(MemoryMarshal.AsBytes(chunk.AsSpan(0, count)));
                }
            }
            writer.Commit();
        }
        config.Save(Path.Combine(directory, "config.json"));
        long bytes = new FileInfo(Path.Combine(directory, "model.safetensors")).Length;
        Console.WriteLine($"{directory}: {specs.Count} tensors, {specs.Sum(s => s.ElementCount):N0} parameters, {bytes / 1e9:F2} GB");
        return 0;
    }

    /// <summary>Name and shape of every tensor of an untied Llama checkpoint, in Hugging Face's order.</summary>
    public static IEnumerable<(string Name, int[] Shape)> Tensors(LlamaConfig c)
    {
        int d = c.HiddenSize, f = c.IntermediateSize, q = c.NumAttentionHeads * c.ResolvedHeadDim, kv = c.KeyValueHeads * c.ResolvedHeadDim;
        yield return ("model.embed_tokens.weight", [c.VocabSize, d]);
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = $"model.layers.{i}.";
            yield return (p + "input_layernorm.weight", [d]);
            yield return (p + "self_attn.q_proj.weight", [q, d]);
            yield return (p + "self_attn.k_proj.weight", [kv, d]);
            yield return (p + "self_attn.v_proj.weight", [kv, d]);
            yield return (p + "self_attn.o_proj.weight", [d, q]);
            yield return (p + "post_attention_layernorm.weight", [d]);
            yield return (p + "mlp.gate_proj.weight", [f, d]);
            yield return (p + "mlp.up_proj.weight", [f, d]);
            yield return (p + "mlp.down_proj.weight", [d, f]);
        }
        yield return ("model.norm.weight", [d]);
        yield return ("lm_head.weight", [c.VocabSize, d]);
    }

    // values: (n) bfloat16 bit patterns.
    private static void Fill(Span<ushort> values, bool ones, TensorRandom random)
    {
        if (ones)
        {
            values.Fill(BFloat16.FromSingle(1f).Bits);
            return;
        }
        const float limit = 0.034641016f; // 0.02 · √3: uniform with standard deviation 0.02
        for (int i = 0; i < values.Length; i += 2)
        {
            ulong bits = random.NextUInt64();
            values[i] = BFloat16.FromSingle(((int)(uint)bits * (1f / int.MaxValue)) * limit).Bits;
            if (i + 1 < values.Length) values[i + 1] = BFloat16.FromSingle(((int)(uint)(bits >> 32) * (1f / int.MaxValue)) * limit).Bits;
        }
    }
}
