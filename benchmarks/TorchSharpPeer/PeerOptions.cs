using System.Globalization;
using Peft.Net.Models;

namespace TorchSharpPeer;

/// <summary>
/// The peer's flags. Training modes take the shape of <c>peft bench train</c> (same flags and defaults: dim 512, 4 layers,
/// 8 heads, FFN 1376, vocabulary 4096, batch 4 × 256 tokens, rank 8, alpha 16, 5 timed steps after one warm-up);
/// <c>gemm</c> takes those of <c>peft bench gemm</c> (<c>--m --n --k --trans-a --trans-b --repeats</c>); <c>decode</c> those of
/// <c>peft bench decode</c> (the model shape, <c>--model DIR</c>, <c>--seed --prompt-tokens --new-tokens --repeats</c>).
/// </summary>
internal sealed record PeerOptions(string Mode, int Dim, int Layers, int Heads, int KvHeads, int Ffn, int Vocab, int Seq, int Batch,
    int Rank, float Alpha, int Steps, int Threads, bool Json)
{
    /// <summary>The training-step modes (<see cref="TrainingStepRig"/>).</summary>
    public static readonly string[] TrainingModes = ["handwritten", "peft-lora", "peft-dora", "peft-qlora"];

    /// <summary>Every mode: the training steps, <c>gemm</c> (<see cref="GemmPeer"/>) and <c>decode</c> (<see cref="DecodePeer"/>).</summary>
    public static readonly string[] Modes = [.. TrainingModes, "gemm", "decode"];

    public const string Usage =
        "Usage: TorchSharpPeer [--mode handwritten|peft-lora|peft-dora|peft-qlora|gemm|decode] [--threads 2] [--json]\n"
        + "  training: [--dim 512 --layers 4 --heads 8 --kv-heads 8 --ffn 1376 --vocab 4096 --seq 256 --batch 4 --rank 8 --alpha 16 --steps 5]\n"
        + "  gemm:     [--m 1024 --n 1024 --k 1024] [--trans-a] [--trans-b] [--repeats 0]\n"
        + "  decode:   [--model DIR | the shape flags above] [--seed 0] [--prompt-tokens 128] [--new-tokens 128] [--repeats 5]";

    /// <summary>GEMM: rows of op(A) and C.</summary>
    public int M { get; init; } = 1024;

    /// <summary>GEMM: columns of op(B) and C.</summary>
    public int N { get; init; } = 1024;

    /// <summary>GEMM: the inner dimension.</summary>
    public int K { get; init; } = 1024;

    /// <summary>GEMM: A stored (k, m) and used transposed.</summary>
    public bool TransA { get; init; }

    /// <summary>GEMM: B stored (n, k) and used transposed (a linear layer's x·Wᵀ).</summary>
    public bool TransB { get; init; }

    /// <summary>Timed runs (gemm: 0 = as many as fit in about two seconds; decode: generations, default 5).</summary>
    public int? Repeats { get; init; }

    /// <summary>Decode: a Hugging Face model folder to load instead of random weights.</summary>
    public string? ModelPath { get; init; }

    /// <summary>Decode: seed of the random weights (the prompt uses seed + 1).</summary>
    public int Seed { get; init; }

    /// <summary>Decode: prompt length in ids.</summary>
    public int PromptTokens { get; init; } = 128;

    /// <summary>Decode: tokens generated per run (no early stop).</summary>
    public int NewTokens { get; init; } = 128;

    public static PeerOptions Parse(string[] args)
    {
        var o = new PeerOptions("peft-lora", 512, 4, 8, 8, 1376, 4096, 256, 4, 8, 16f, 5, 2, false);
        for (int i = 0; i < args.Length; i++)
        {
            string flag = args[i];
            if (flag == "--json") { o = o with { Json = true }; continue; }
            if (flag == "--trans-a") { o = o with { TransA = true }; continue; }
            if (flag == "--trans-b") { o = o with { TransB = true }; continue; }
            if (i + 1 >= args.Length) throw new ArgumentException($"{flag} needs a value. {Usage}");
            string value = args[++i];
            int Int(int minimum = 1) => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= minimum
                ? n : throw new ArgumentException($"{flag} needs an integer ≥ {minimum}, not '{value}'.");
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
                "--m" => o with { M = Int() },
                "--n" => o with { N = Int() },
                "--k" => o with { K = Int() },
                "--repeats" => o with { Repeats = Int(0) },
                "--model" => o with { ModelPath = value },
                "--seed" => o with { Seed = Int(0) },
                "--prompt-tokens" => o with { PromptTokens = Int() },
                "--new-tokens" => o with { NewTokens = Int(2) },
                _ => throw new ArgumentException($"Unknown argument '{flag}'. {Usage}"),
            };
        }
        return o;
    }

    /// <summary>The model config, as <c>peft bench train</c> (and <c>peft bench decode</c>) builds it.</summary>
    public LlamaConfig Config => new()
    {
        HiddenSize = Dim, NumHiddenLayers = Layers, NumAttentionHeads = Heads, NumKeyValueHeads = KvHeads,
        IntermediateSize = Ffn, VocabSize = Vocab, MaxPositionEmbeddings = Math.Max(2048, Math.Max(Seq, PromptTokens + NewTokens)),
    };
}
