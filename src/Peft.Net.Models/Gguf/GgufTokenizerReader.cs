using System.Text.Json.Nodes;
using Peft.Net.Core.IO.Gguf;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Gguf;

/// <summary>
/// Builds a <see cref="BpeTokenizer"/> from a GGUF file's <c>tokenizer.ggml.*</c> metadata, as the tokenizer.json that
/// transformers' converters write for the same model: <c>llama</c> (SentencePiece BPE: "▁" for spaces, byte
/// fallback, merges ranked by the scores of the merged pieces, as transformers' SentencePieceExtractor ranks them)
/// and <c>gpt2</c> (byte-level BPE with the merges and the pre-tokenizer named by <c>tokenizer.ggml.pre</c>).
/// </summary>
internal static class GgufTokenizerReader
{
    internal const int TypeNormal = 1, TypeUnknown = 2, TypeControl = 3, TypeUserDefined = 4, TypeByte = 6;

    internal const string Llama3Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    internal const string Qwen2Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static BpeTokenizer Read(GgufFile file)
    {
        string model = GgufMetadata.RequiredString(file, "tokenizer.ggml.model");
        var tokens = GgufMetadata.Optional<string[]>(file, "tokenizer.ggml.tokens")
                     ?? throw new GgufFormatException(file.FilePath, "key 'tokenizer.ggml.tokens'", "is missing (an array of strings is required)");
        if (tokens.Length == 0) throw new GgufFormatException(file.FilePath, "key 'tokenizer.ggml.tokens'", "is empty");
        var types = GgufMetadata.Optional<int[]>(file, "tokenizer.ggml.token_type") ?? new int[tokens.Length];
        if (types.Length < tokens.Length)
            throw new GgufFormatException(file.FilePath, "key 'tokenizer.ggml.token_type'", $"has {types.Length} entries for {tokens.Length} tokens");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
            if (!seen.Add(tokens[i]))
                throw new GgufFormatException(file.FilePath, "key 'tokenizer.ggml.tokens'", $"token {i} '{tokens[i]}' appears twice");

        var root = model switch
        {
            "llama" => Spm(file, tokens, types),
            "gpt2" => ByteLevel(file, tokens, types),
            _ => throw new NotSupportedException($"{file.FilePath}: tokenizer.ggml.model '{model}' is not supported; Peft.Net reads 'llama' (SentencePiece) and 'gpt2' (byte-level BPE)."),
        };
        root["added_tokens"] = AddedTokens(tokens, types);
        root["post_processor"] = PostProcessor(file, tokens, model);
        try
        {
            string? Name(string key) => GgufMetadata.OptionalUInt(file, key) is { } id && id < tokens.Length ? tokens[id] : null;
            var config = new TokenizerConfig(Name("tokenizer.ggml.bos_token_id"), Name("tokenizer.ggml.eos_token_id"),
                Name("tokenizer.ggml.padding_token_id"), AddBosToken: null, AddEosToken: null, TokenizerClass: null, file.FilePath);
            return BpeTokenizer.FromJson(root.ToJsonString(), file.FilePath + " (tokenizer.ggml.*)", config);
        }
        catch (InvalidDataException e)
        {
            throw new GgufFormatException(file.FilePath, "tokenizer.ggml.*", e.Message, e);
        }
    }

    private static JsonObject Spm(GgufFile file, string[] tokens, int[] types)
    {
        var scores = GgufMetadata.Optional<float[]>(file, "tokenizer.ggml.scores") ?? new float[tokens.Length];
        if (scores.Length < tokens.Length)
            throw new GgufFormatException(file.FilePath, "key 'tokenizer.ggml.scores'", $"has {scores.Length} entries for {tokens.Length} tokens");
        bool spacePrefix = GgufMetadata.OptionalBool(file, "tokenizer.ggml.add_space_prefix") ?? true;
        string unk = GgufMetadata.OptionalUInt(file, "tokenizer.ggml.unknown_token_id") is { } u && u < tokens.Length ? tokens[u] : tokens[0];

        var vocab = new JsonObject();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
        {
            vocab[tokens[i]] = i;
            ids[tokens[i]] = i;
        }
        // transformers' SentencePieceExtractor: every split of a piece into two vocabulary pieces is a merge; merges
        // are ranked by the merged piece's score (highest first), ties by the ids of the two halves.
        var merges = new List<(string Left, string Right, float Score, int LeftId, int RightId, int Order)>();
        for (int id = 0; id < tokens.Length; id++)
        {
            if (!Mergeable(types[id])) continue;
            string piece = tokens[id];
            for (int cut = 1; cut < piece.Length; cut++)
            {
                if (char.IsLowSurrogate(piece[cut])) continue;
                string left = piece[..cut], right = piece[cut..];
                if (ids.TryGetValue(left, out int l) && ids.TryGetValue(right, out int r) && Mergeable(types[l]) && Mergeable(types[r]))
                    merges.Add((left, right, scores[id], l, r, merges.Count));
            }
        }
        var ordered = merges.OrderByDescending(m => m.Score).ThenBy(m => m.LeftId).ThenBy(m => m.RightId).Select(m => (JsonNode)new JsonArray(m.Left, m.Right));
        var normalizers = new JsonArray();
        if (spacePrefix) normalizers.Add(new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" });
        normalizers.Add(new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" });
        var decoders = new JsonArray
        {
            new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
            new JsonObject { ["type"] = "ByteFallback" },
            new JsonObject { ["type"] = "Fuse" },
        };
        if (spacePrefix) decoders.Add(new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 });
        return new JsonObject
        {
            ["normalizer"] = new JsonObject { ["type"] = "Sequence", ["normalizers"] = normalizers },
            ["pre_tokenizer"] = null,
            ["decoder"] = new JsonObject { ["type"] = "Sequence", ["decoders"] = decoders },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["unk_token"] = unk, ["fuse_unk"] = true, ["byte_fallback"] = true,
                ["vocab"] = vocab, ["merges"] = new JsonArray(ordered.ToArray()),
            },
        };
    }

    private static bool Mergeable(int type) => type is 0 or TypeNormal or TypeUserDefined;

    private static JsonObject ByteLevel(GgufFile file, string[] tokens, int[] types)
    {
        var merges = GgufMetadata.Optional<string[]>(file, "tokenizer.ggml.merges")
                     ?? throw new GgufFormatException(file.FilePath, "key 'tokenizer.ggml.merges'", "is missing (required for a gpt2 tokenizer)");
        string pre = GgufMetadata.Optional<string>(file, "tokenizer.ggml.pre") ?? "default";
        var vocab = new JsonObject();
        for (int i = 0; i < tokens.Length; i++) vocab[tokens[i]] = i;
        var mergeArray = new JsonArray();
        for (int i = 0; i < merges.Length; i++)
        {
            int space = merges[i].IndexOf(' ', 1);
            if (space < 0) throw new GgufFormatException(file.FilePath, "key 'tokenizer.ggml.merges'", $"merge {i} '{merges[i]}' has no space between two tokens");
            mergeArray.Add(new JsonArray(merges[i][..space], merges[i][(space + 1)..]));
        }
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false };
        JsonObject Split(string regex) => new()
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = regex }, ["behavior"] = "Isolated", ["invert"] = false },
                byteLevel),
        };
        JsonObject preTokenizer = pre switch
        {
            "llama-bpe" or "llama3" or "llama-v3" => Split(Llama3Regex),
            "qwen2" or "deepseek-r1-qwen" => Split(Qwen2Regex),
            "smollm" => new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Digits", ["individual_digits"] = true },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true }),
            },
            "gpt-2" or "default" or "" => new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            _ => throw new NotSupportedException($"{file.FilePath}: tokenizer.ggml.pre '{pre}' is not supported; Peft.Net reads llama-bpe, qwen2, smollm, gpt-2 and default."),
        };
        return new JsonObject
        {
            ["normalizer"] = null,
            ["pre_tokenizer"] = preTokenizer,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["byte_fallback"] = false, ["ignore_merges"] = pre is "llama-bpe" or "llama3" or "llama-v3",
                ["vocab"] = vocab, ["merges"] = mergeArray,
            },
        };
    }

    /// <summary>Unknown and control tokens are special added tokens; user-defined ones are added tokens matched in text.</summary>
    private static JsonArray AddedTokens(string[] tokens, int[] types)
    {
        var added = new JsonArray();
        for (int i = 0; i < tokens.Length; i++)
            if (types[i] is TypeUnknown or TypeControl or TypeUserDefined)
                added.Add(new JsonObject
                {
                    ["id"] = i, ["content"] = tokens[i], ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                    ["normalized"] = false, ["special"] = types[i] != TypeUserDefined,
                });
        return added;
    }

    /// <summary>BOS in front (and EOS behind) when llama.cpp would add them: add_bos/add_eos keys, else the model type's default.</summary>
    private static JsonNode? PostProcessor(GgufFile file, string[] tokens, string model)
    {
        string? pre = GgufMetadata.Optional<string>(file, "tokenizer.ggml.pre");
        bool addBos = GgufMetadata.OptionalBool(file, "tokenizer.ggml.add_bos_token")
                      ?? (model == "llama" || pre is "llama-bpe" or "llama3" or "llama-v3");
        bool addEos = GgufMetadata.OptionalBool(file, "tokenizer.ggml.add_eos_token") ?? false;
        uint? bos = GgufMetadata.OptionalUInt(file, "tokenizer.ggml.bos_token_id") ?? (model == "llama" ? 1u : 11u);
        uint? eos = GgufMetadata.OptionalUInt(file, "tokenizer.ggml.eos_token_id") ?? (model == "llama" ? 2u : 11u);
        var single = new JsonArray();
        var special = new JsonObject();
        void Add(uint id)
        {
            string token = tokens[id];
            single.Add(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = 0 } });
            special[token] = new JsonObject { ["id"] = token, ["ids"] = new JsonArray((int)id), ["tokens"] = new JsonArray(token) };
        }
        if (addBos && bos < tokens.Length) Add(bos.Value);
        single.Add(new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } });
        if (addEos && eos < tokens.Length) Add(eos.Value);
        return new JsonObject { ["type"] = "TemplateProcessing", ["single"] = single, ["pair"] = single.DeepClone(), ["special_tokens"] = special };
    }
}
