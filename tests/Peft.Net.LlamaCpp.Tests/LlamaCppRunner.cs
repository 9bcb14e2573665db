using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Peft.Net.LlamaCpp.Tests;

/// <summary>
/// A GGUF model run by llama.cpp (LLamaSharp 0.30, CPU backend): greedy decoding and logits from token ids, optionally
/// with a LoRA adapter GGUF applied at scale 1. The native log is captured so a rejected file shows llama.cpp's reason.
/// </summary>
internal sealed class LlamaCppRunner : IDisposable
{
    private static readonly StringBuilder Log = new();
    private static readonly object Gate = new();

    static LlamaCppRunner()
    {
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            lock (Log) Log.Append(message);
        });
    }

    /// <summary>Loads the native library (LLamaSharp resolves it on first use of NativeApi) before a call that bypasses the runner, e.g. quantization.</summary>
    public static void EnsureNativeLibrary() => NativeApi.llama_empty_call();

    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;

    public LlamaCppRunner(string modelPath, string? loraPath = null)
    {
        lock (Log) Log.Clear();
        var parameters = new ModelParams(modelPath) { ContextSize = 256, GpuLayerCount = 0, Threads = 2, BatchSize = 256 };
        try
        {
            _weights = LLamaWeights.LoadFromFile(parameters);
            _context = _weights.CreateContext(parameters);
            if (loraPath is not null)
            {
                var adapter = _weights.NativeHandle.LoadLoraFromFile(loraPath);
                if (NativeLog().Contains("failed", StringComparison.OrdinalIgnoreCase)) throw new InvalidOperationException("llama.cpp did not load the adapter.");
                _context.NativeHandle.SetLoraAdapters([(adapter, 1f)]);
            }
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"llama.cpp could not load {modelPath} {loraPath}: {e.Message}\nnative log:\n{NativeLog()}", e);
        }
    }

    public static string NativeLog()
    {
        lock (Log) return Log.ToString();
    }

    public int VocabSize => _weights.Vocab.Count;

    public int[] Tokenize(string text, bool addBos) => _context.Tokenize(text, addBos, special: false).Select(t => (int)t).ToArray();

    /// <summary>Greedy continuation of <paramref name="prompt"/> for <paramref name="count"/> tokens (no stop token).</summary>
    public int[] Greedy(int[] prompt, int count)
    {
        lock (Gate)
        {
            _context.NativeHandle.MemoryClear();
            var batch = new LLamaBatch();
            for (int i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
            var result = new List<int>();
            int position = prompt.Length;
            for (int step = 0; step < count; step++)
            {
                Decode(batch);
                var logits = _context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
                int next = ArgMax(logits);
                result.Add(next);
                batch.Clear();
                batch.Add(next, position++, LLamaSeqId.Zero, true);
            }
            return result.ToArray();
        }
    }

    /// <summary>The logits of every position of <paramref name="ids"/> (one forward pass), row-major [T, V].</summary>
    public float[] Logits(int[] ids)
    {
        lock (Gate)
        {
            _context.NativeHandle.MemoryClear();
            var batch = new LLamaBatch();
            for (int i = 0; i < ids.Length; i++) batch.Add(ids[i], i, LLamaSeqId.Zero, true);
            Decode(batch);
            var all = new float[ids.Length * VocabSize];
            for (int i = 0; i < ids.Length; i++) _context.NativeHandle.GetLogitsIth(i).CopyTo(all.AsSpan(i * VocabSize, VocabSize));
            return all;
        }
    }

    private void Decode(LLamaBatch batch)
    {
        var status = _context.NativeHandle.Decode(batch);
        if (status != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {status}.\n{NativeLog()}");
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
