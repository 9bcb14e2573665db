using System.Globalization;
using Peft.Net.Models;

namespace TorchSharpPeer;

/// <summary>
/// The shape of <c>peft bench train</c> (same flags and defaults: dim 512, 4 layers, 8 heads, FFN 1376, vocabulary 4096,
/// batch 4 × 256 tokens, rank 8, alpha 16, 5 timed steps after one warm-up) plus <c>--mode</c> and <c>--threads</c>.
/// </summary>
internal sealed record PeerOptions(string Mode, int Dim, int Layers, int Heads, int KvHeads, int Ffn, int Vocab, int Seq, int Batch,
    int Rank, float Alpha, int Steps, int Threads, bool Json)
{
    public static readonly string[] Modes = ["handwritten", "peft-lora", "peft-dora", "peft-qlora"];

    public const string Usage =
        "Usage: TorchSharpPeer [--mode handwritten|peft-lora|peft-dora|peft-qlora] [--dim 512 --layers 4 --heads 8 --kv-heads 8 --ffn 1376 "
        + "--vocab 4096 --seq 256 --batch 4 --rank 8 --alpha 16 --steps 5] [--threads 2] [--json]";

    public static PeerOptions Parse(string[] args)
    {
        var o = new PeerOptions("peft-lora", 512, 4, 8, 8, 1376, 4096, 256, 4, 8, 16f, 5, 2, false);
        for (int i = 0; i < args.Length; i++)
        {
            string flag = args[i];
            if (flag == "--json") { o = o with { Json = true }; continue; }
            if (i + 1 >= args.Length) throw new ArgumentException($"{flag} needs a value. {Usage}");
            string value = args[++i];
            int Int() => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0
                ? n : throw new ArgumentException($"{flag} needs a positive integer, not '{value}'.");
            o = flag switch
            {
                "--mode" when Modes.Contains(value) => o with { Mode = value },
                "--mode" => throw new ArgumentException($"--mode must be one of {string.Join(", ", Modes)}; got '{value}'."),
                "--dim" => o with { Dim = Int() },
                "--layers" => o with { Layers = Int() },
                "--heads" => o with { Heads = Int() },
                "--kv-heads" => o with { KvHeads = Int() },
                "--ffn" => o with { Ffn = Int() },
                "--vocab" => o with { Vocab = Int() },
                "--seq" => o with { Seq = Int() },
                "--batch" => o with { Batch = Int() },
                "--rank" => o with { Rank = Int() },
                "--alpha" => o with { Alpha = float.Parse(value, CultureInfo.InvariantCulture) },
                "--steps" => o with { Steps = Int() },
                "--threads" => o with { Threads = Int() },
                _ => throw new ArgumentException($"Unknown argument '{flag}'. {Usage}"),
            };
        }
        return o;
    }

    /// <summary>The model config, as <c>peft bench train</c> builds it.</summary>
    public LlamaConfig Config => new()
    {
        HiddenSize = Dim, NumHiddenLayers = Layers, NumAttentionHeads = Heads, NumKeyValueHeads = KvHeads,
        IntermediateSize = Ffn, VocabSize = Vocab, MaxPositionEmbeddings = Math.Max(2048, Seq),
    };
}
