using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Peft.Net.Models.Tokenization.Json;

namespace Peft.Net.Models.Tokenization.Model;

/// <summary>
/// The BPE model of a tokenizer.json (<c>"model": {"type": "BPE", …}</c>): turns one pre-tokenized word into ids
/// by starting from its characters and applying merges in rank order, lowest rank first and leftmost first among
/// equal ranks, exactly as the tokenizers library does. Results are cached per word.
/// </summary>
internal sealed class BpeModel
{
    private const int MaxCachedWordLength = 256;
    private const int CacheCapacity = 10_000;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly string?[] _idToToken;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly int[] _byteTokenIds; // id of "<0xAB>" for each byte, -1 when absent
    private readonly int _unkId;
    private readonly bool _fuseUnk;
    private readonly bool _byteFallback;
    private readonly bool _ignoreMerges;
    private readonly string? _continuingSubwordPrefix;
    private readonly string? _endOfWordSuffix;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    private BpeModel(Dictionary<string, int> vocab, Dictionary<long, (int, int)> merges, string? unkToken, bool fuseUnk,
        bool byteFallback, bool ignoreMerges, string? continuingSubwordPrefix, string? endOfWordSuffix)
    {
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _merges = merges;
        _unkId = unkToken is not null && vocab.TryGetValue(unkToken, out int unk) ? unk : -1;
        _fuseUnk = fuseUnk;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        _continuingSubwordPrefix = string.IsNullOrEmpty(continuingSubwordPrefix) ? null : continuingSubwordPrefix;
        _endOfWordSuffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        MaxId = vocab.Count == 0 ? -1 : vocab.Values.Max();
        _idToToken = new string?[MaxId + 1];
        foreach (var (token, id) in vocab) _idToToken[id] = token;
        _byteTokenIds = new int[256];
        for (int b = 0; b < 256; b++)
            _byteTokenIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
    }

    /// <summary>The largest id in the vocabulary (-1 when empty).</summary>
    public int MaxId { get; }

    /// <summary>Number of merge rules.</summary>
    public int MergeCount => _merges.Count;

    public bool TryGetId(string token, out int id) => _vocab.TryGetValue(token, out id);

    public string? TokenOf(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>
    /// How far ids may run past the number of tokens. Real vocabularies are dense (0..n−1, at most a few holes); a
    /// larger gap is a corrupt file and would make the id → token table allocate for ids that do not exist.
    /// </summary>
    internal const int MaxIdGap = 1 << 16;

    public static BpeModel FromJson(JsonElement model, TokenizerJsonContext context)
    {
        const string path = "model";
        string? unkToken = context.OptionalString(model, "unk_token", path);
        string? prefix = context.OptionalString(model, "continuing_subword_prefix", path);
        string? suffix = context.OptionalString(model, "end_of_word_suffix", path);

        var vocabJson = context.Required(model, "vocab", path);
        if (vocabJson.ValueKind != JsonValueKind.Object)
            throw context.Invalid("model.vocab", "must be an object mapping tokens to ids");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocabJson.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw context.Invalid($"model.vocab[\"{entry.Name}\"]", "must be a non-negative integer id");
            vocab[entry.Name] = id;
        }
        if (vocab.Count > 0 && vocab.Values.Max() is int maxId && maxId >= vocab.Count + MaxIdGap)
            throw context.Invalid("model.vocab", $"has {vocab.Count} tokens but ids up to {maxId}; ids must be (nearly) dense from 0");
        if (unkToken is not null && !vocab.ContainsKey(unkToken))
            throw context.Invalid("model.unk_token", $"names '{unkToken}', which is not in model.vocab");

        var merges = new Dictionary<long, (int, int)>();
        var mergesJson = TokenizerJsonContext.Optional(model, "merges");
        if (mergesJson is { } list)
        {
            if (list.ValueKind != JsonValueKind.Array)
                throw context.Invalid("model.merges", "must be an array");
            int rank = 0;
            foreach (var merge in list.EnumerateArray())
            {
                var (left, right) = ParseMerge(merge, rank, context);
                string mergePath = $"model.merges[{rank}]";
                if (!vocab.TryGetValue(left, out int leftId))
                    throw context.Invalid(mergePath, $"uses '{left}', which is not in model.vocab");
                if (!vocab.TryGetValue(right, out int rightId))
                    throw context.Invalid(mergePath, $"uses '{right}', which is not in model.vocab");
                string merged = prefix is not null && right.StartsWith(prefix, StringComparison.Ordinal)
                    ? left + right[prefix.Length..]
                    : left + right;
                if (!vocab.TryGetValue(merged, out int newId))
                    throw context.Invalid(mergePath, $"makes '{merged}', which is not in model.vocab");
                merges.TryAdd(Key(leftId, rightId), (rank, newId));
                rank++;
            }
        }

        return new BpeModel(vocab, merges, unkToken,
            context.OptionalBool(model, "fuse_unk", false, path),
            context.OptionalBool(model, "byte_fallback", false, path),
            context.OptionalBool(model, "ignore_merges", false, path),
            prefix, suffix);
    }

    /// <summary>A merge is "left right" (older files) or ["left", "right"] (newer files, tokens may hold spaces).</summary>
    private static (string Left, string Right) ParseMerge(JsonElement merge, int rank, TokenizerJsonContext context)
    {
        if (merge.ValueKind == JsonValueKind.String)
        {
            string text = merge.GetString()!;
            int space = text.IndexOf(' ');
            if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
                throw context.Invalid($"model.merges[{rank}]", $"is \"{text}\"; a merge string must be two tokens separated by one space");
            return (text[..space], text[(space + 1)..]);
        }
        if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
            && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            return (merge[0].GetString()!, merge[1].GetString()!);
        throw context.Invalid($"model.merges[{rank}]", "must be a string \"a b\" or a pair [\"a\", \"b\"]");
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the ids of one pre-tokenized word to <paramref name="output"/>.</summary>
    public void Tokenize(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (_cache.TryGetValue(word, out int[]? cached))
        {
            output.AddRange(cached);
            return;
        }
        if (_ignoreMerges && _vocab.TryGetValue(word, out int whole))
        {
            output.Add(whole);
            return;
        }

        var workspace = BpeMergeWorkspace.Current;
        AddInitialSymbols(word, workspace);
        MergeAll(workspace);

        int start = output.Count;
        for (int i = 0; i >= 0 && workspace.Count > 0; i = workspace.Next[i]) output.Add(workspace.Ids[i]);
        if (word.Length <= MaxCachedWordLength && _cache.Count < CacheCapacity)
            _cache.TryAdd(word, output.GetRange(start, output.Count - start).ToArray());
    }

    /// <summary>One symbol per code point (or its byte tokens, or the unknown token), as tokenizers' merge_word.</summary>
    private void AddInitialSymbols(string word, BpeMergeWorkspace workspace)
    {
        workspace.Reset(word.Length * 2);
        bool unkPending = false;
        for (int i = 0; i < word.Length;)
        {
            Rune.DecodeFromUtf16(word.AsSpan(i), out _, out int length);
            bool isFirst = i == 0;
            bool isLast = i + length == word.Length;
            bool decorated = (_continuingSubwordPrefix is not null && !isFirst) || (_endOfWordSuffix is not null && isLast);
            string? symbol = decorated
                ? (isFirst ? "" : _continuingSubwordPrefix) + word.Substring(i, length) + (isLast ? _endOfWordSuffix : "")
                : null;
            bool known = symbol is null ? _vocabBySpan.TryGetValue(word.AsSpan(i, length), out int id) : _vocab.TryGetValue(symbol, out id);
            i += length;

            if (known)
            {
                if (unkPending)
                {
                    workspace.Add(_unkId);
                    unkPending = false;
                }
                workspace.Add(id);
                continue;
            }
            if (_byteFallback && TryAddByteTokens(symbol is null ? word.AsSpan(i - length, length) : symbol.AsSpan(), workspace))
                continue;
            if (_unkId < 0)
                continue; // no unknown token: the character is dropped, as in the tokenizers library
            if (unkPending && !_fuseUnk) workspace.Add(_unkId);
            unkPending = true;
        }
        if (unkPending) workspace.Add(_unkId);
    }

    /// <summary>Adds one &lt;0xAB&gt; token per UTF-8 byte when the vocabulary has all of them.</summary>
    private bool TryAddByteTokens(ReadOnlySpan<char> text, BpeMergeWorkspace workspace)
    {
        Span<byte> bytes = stackalloc byte[16];
        int count = Encoding.UTF8.GetByteCount(text);
        if (count > bytes.Length) bytes = new byte[count];
        Encoding.UTF8.GetBytes(text, bytes);
        bytes = bytes[..count];
        foreach (byte b in bytes)
            if (_byteTokenIds[b] < 0) return false;
        foreach (byte b in bytes) workspace.Add(_byteTokenIds[b]);
        return true;
    }

    /// <summary>Applies merges until none applies: lowest rank first, leftmost first among equal ranks.</summary>
    private void MergeAll(BpeMergeWorkspace workspace)
    {
        int[] ids = workspace.Ids, prev = workspace.Prev, next = workspace.Next;
        var queue = workspace.Queue;
        for (int i = 0; i + 1 < workspace.Count; i++)
            if (_merges.TryGetValue(Key(ids[i], ids[i + 1]), out var merge))
                queue.Enqueue((i, merge.NewId), Priority(merge.Rank, i));

        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            int right = next[pos];
            if (ids[pos] < 0 || right < 0) continue; // merged away, or last symbol
            // A stale entry: the pair changed since it was queued.
            if (!_merges.TryGetValue(Key(ids[pos], ids[right]), out var current) || current.NewId != top.NewId) continue;

            ids[pos] = top.NewId;
            ids[right] = -1;
            int after = next[right];
            next[pos] = after;
            if (after >= 0) prev[after] = pos;

            int before = prev[pos];
            if (before >= 0 && _merges.TryGetValue(Key(ids[before], ids[pos]), out var leftMerge))
                queue.Enqueue((before, leftMerge.NewId), Priority(leftMerge.Rank, before));
            if (after >= 0 && _merges.TryGetValue(Key(ids[pos], ids[after]), out var rightMerge))
                queue.Enqueue((pos, rightMerge.NewId), Priority(rightMerge.Rank, pos));
        }
    }

    private static long Priority(int rank, int position) => ((long)rank << 32) | (uint)position;
}
