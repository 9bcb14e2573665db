using System.Text.Json;
using Peft.Net.Core.IO.Gguf;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Gguf;

/// <summary>
/// A Hugging Face tokenizer folder → <c>tokenizer.ggml.*</c> metadata as llama.cpp's converter writes it: BPE with
/// byte fallback (Llama 2, Mistral: SentencePiece) as <c>llama</c> with scores that rank the merges, byte-level BPE
/// (Llama 3, Qwen2, SmolLM, GPT-2) as <c>gpt2</c> with its merges and the <c>tokenizer.ggml.pre</c> name llama.cpp
/// needs to pick the same pre-tokenizer regex; special ids, add_bos/add_eos and the chat template.
/// </summary>
internal static class GgufTokenizerWriter
{
    public static void Write(GgufWriter writer, string directory, LlamaConfig config)
    {
        if (File.Exists(directory) && directory.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        {
            CopyFrom(writer, directory, config);
            return;
        }
        var tokenizer = BpeTokenizer.FromDirectory(directory);
        string path = Path.Combine(directory, "tokenizer.json");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var model = root.GetProperty("model");
        bool spm = model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True;

        int modelVocabSize = config.VocabSize;
        int count = Math.Max(tokenizer.VocabSize, modelVocabSize);
        if (tokenizer.VocabSize > modelVocabSize)
            throw new InvalidDataException($"{path}: the tokenizer has {tokenizer.VocabSize} ids but the model's embedding only {modelVocabSize} rows.");
        var tokens = new string[count];
        var types = new int[count];
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            int id = entry.Value.GetInt32();
            tokens[id] = entry.Name;
            types[id] = spm && IsByteToken(entry.Name) ? GgufTokenizerReader.TypeByte : GgufTokenizerReader.TypeNormal;
        }
        foreach (var added in tokenizer.AddedTokens)
        {
            tokens[added.Id] = added.Content;
            types[added.Id] = added.Special ? GgufTokenizerReader.TypeControl : GgufTokenizerReader.TypeUserDefined;
        }
        for (int i = 0; i < count; i++)
            if (tokens[i] is null)
            {
                tokens[i] = $"[PAD{i}]";
                types[i] = 5; // unused
            }
        var merges = ReadMerges(model, path);
        writer.Add("tokenizer.ggml.model", GgufValue.String(spm ? "llama" : "gpt2"));
        writer.Add("tokenizer.ggml.pre", GgufValue.String(spm ? "default" : PreTokenizerName(root, path)));
        writer.Add("tokenizer.ggml.tokens", GgufValue.Strings(tokens));
        if (spm)
        {
            if (model.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String && tokenizer.TokenToId(unk.GetString()!) is { } unkId)
                types[unkId] = GgufTokenizerReader.TypeUnknown;
            writer.Add("tokenizer.ggml.scores", GgufValue.Floats(Scores(tokens, merges)));
        }
        else
        {
            writer.Add("tokenizer.ggml.scores", GgufValue.Floats(new float[count]));
        }
        writer.Add("tokenizer.ggml.token_type", GgufValue.Ints(types));
        if (!spm)
            writer.Add("tokenizer.ggml.merges", GgufValue.Strings(merges.Select(m => m.Left.Contains(' ') || m.Right.Contains(' ')
                ? throw new NotSupportedException($"{path}: the merge ['{m.Left}', '{m.Right}'] holds a space, which GGUF's \"left right\" merges cannot express.")
                : m.Left + " " + m.Right).ToArray()));
        // The tokenizer's special ids, else the model config's (generation stops at the config's EOS).
        if ((tokenizer.BosTokenId ?? config.BosTokenId) is { } bos) writer.Add("tokenizer.ggml.bos_token_id", GgufValue.UInt32((uint)bos));
        int eos = tokenizer.EosTokenId ?? config.EosTokenIds.FirstOrDefault(-1);
        if (eos >= 0) writer.Add("tokenizer.ggml.eos_token_id", GgufValue.UInt32((uint)eos));
        int eot = config.EosTokenIds.FirstOrDefault(id => id != eos, -1);
        if (eot >= 0) writer.Add("tokenizer.ggml.eot_token_id", GgufValue.UInt32((uint)eot));
        if (spm && model.TryGetProperty("unk_token", out var unkName) && unkName.ValueKind == JsonValueKind.String && tokenizer.TokenToId(unkName.GetString()!) is { } u)
            writer.Add("tokenizer.ggml.unknown_token_id", GgufValue.UInt32((uint)u));
        if (tokenizer.PadTokenId is { } pad) writer.Add("tokenizer.ggml.padding_token_id", GgufValue.UInt32((uint)pad));
        var empty = tokenizer.Encode("", addSpecialTokens: true);
        writer.Add("tokenizer.ggml.add_bos_token", GgufValue.Bool(empty.Length > 0 && empty[0] == tokenizer.BosTokenId));
        writer.Add("tokenizer.ggml.add_eos_token", GgufValue.Bool(empty.Length > 0 && empty[^1] == tokenizer.EosTokenId));
        if (spm) writer.Add("tokenizer.ggml.add_space_prefix", GgufValue.Bool(AddsSpacePrefix(root)));
        if (ChatTemplate(directory) is { } template) writer.Add("tokenizer.chat_template", GgufValue.String(template));
    }

    /// <summary>Every <c>tokenizer.*</c> key of another GGUF file (re-exporting an imported model).</summary>
    private static void CopyFrom(GgufWriter writer, string path, LlamaConfig config)
    {
        using var file = GgufFile.Open(path);
        if (GgufMetadata.Optional<string[]>(file, "tokenizer.ggml.tokens") is not { } tokens)
            throw new GgufFormatException(path, "key 'tokenizer.ggml.tokens'", "is missing; the file has no tokenizer to copy");
        if (tokens.Length != config.VocabSize)
            throw new InvalidDataException($"{path}: the tokenizer has {tokens.Length} tokens but the model's embedding {config.VocabSize} rows.");
        foreach (var (key, value) in file.Metadata)
            if (key.StartsWith("tokenizer.", StringComparison.Ordinal)) writer.Add(key, value);
    }

    private static bool IsByteToken(string token) =>
        token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' && Uri.IsHexDigit(token[3]) && Uri.IsHexDigit(token[4]);

    private static List<(string Left, string Right)> ReadMerges(JsonElement model, string path)
    {
        var merges = new List<(string, string)>();
        if (!model.TryGetProperty("merges", out var list)) return merges;
        foreach (var merge in list.EnumerateArray())
        {
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                int space = text.IndexOf(' ', 1);
                if (space < 0) throw new InvalidDataException($"{path}: merge '{text}' has no space.");
                merges.Add((text[..space], text[(space + 1)..]));
            }
            else merges.Add((merge[0].GetString()!, merge[1].GetString()!));
        }
        return merges;
    }

    /// <summary>SentencePiece scores that rank merges as the file does: the piece made by merge r scores −r; others score below every merge.</summary>
    private static float[] Scores(string[] tokens, List<(string Left, string Right)> merges)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++) index.TryAdd(tokens[i], i);
        var scores = new float[tokens.Length];
        Array.Fill(scores, -1e9f);
        for (int rank = merges.Count - 1; rank >= 0; rank--)
            if (index.TryGetValue(merges[rank].Left + merges[rank].Right, out int id))
                scores[id] = -rank;
        return scores;
    }

    private static bool AddsSpacePrefix(JsonElement root)
    {
        string text = root.GetRawText();
        return text.Contains("\"Prepend\"", StringComparison.Ordinal)
               || (text.Contains("\"Metaspace\"", StringComparison.Ordinal) && !text.Contains("\"prepend_scheme\":\"never\"", StringComparison.Ordinal)
                   && !text.Contains("\"prepend_scheme\": \"never\"", StringComparison.Ordinal));
    }

    /// <summary>The llama.cpp pre-tokenizer name for a byte-level tokenizer.json, by its split regex.</summary>
    private static string PreTokenizerName(JsonElement root, string path)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            throw new NotSupportedException($"{path}: a byte-level tokenizer without a pre_tokenizer has no llama.cpp equivalent.");
        string text = pre.GetRawText();
        var regexes = new List<string>();
        Collect(pre, regexes);
        if (regexes.Contains(GgufTokenizerReader.Llama3Regex)) return "llama-bpe";
        if (regexes.Contains(GgufTokenizerReader.Qwen2Regex)) return "qwen2";
        if (regexes.Count == 0 && text.Contains("\"Digits\"", StringComparison.Ordinal) && text.Contains("\"ByteLevel\"", StringComparison.Ordinal)) return "smollm";
        if (regexes.Count == 0 && pre.TryGetProperty("type", out var type) && type.GetString() == "ByteLevel") return "gpt-2";
        throw new NotSupportedException(
            $"{path}: the pre-tokenizer matches none of llama.cpp's that Peft.Net maps (llama-bpe, qwen2, smollm, gpt-2); llama.cpp would split the text differently.");
    }

    private static void Collect(JsonElement element, List<string> regexes)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
                if (property.Name == "Regex" && property.Value.ValueKind == JsonValueKind.String) regexes.Add(property.Value.GetString()!);
                else Collect(property.Value, regexes);
        }
        else if (element.ValueKind == JsonValueKind.Array)
            foreach (var item in element.EnumerateArray()) Collect(item, regexes);
    }

    /// <summary>chat_template from tokenizer_config.json (a string) or chat_template.jinja; null when neither.</summary>
    internal static string? ChatTemplate(string directory)
    {
        string jinja = Path.Combine(directory, "chat_template.jinja");
        if (File.Exists(jinja)) return File.ReadAllText(jinja);
        string config = Path.Combine(directory, "tokenizer_config.json");
        if (!File.Exists(config)) return null;
        using var document = JsonDocument.Parse(File.ReadAllBytes(config));
        return document.RootElement.TryGetProperty("chat_template", out var template) && template.ValueKind == JsonValueKind.String
            ? template.GetString()
            : null;
    }
}
