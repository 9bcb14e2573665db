using System.Text.Json;
using Peft.Net.Models.Tokenization.Decoders;
using Peft.Net.Models.Tokenization.Json;
using Peft.Net.Models.Tokenization.Model;
using Peft.Net.Models.Tokenization.Normalizers;
using Peft.Net.Models.Tokenization.PostProcessors;
using Peft.Net.Models.Tokenization.PreTokenizers;

namespace Peft.Net.Models.Tokenization;

/// <summary>
/// A byte-pair-encoding tokenizer read from a Hugging Face <c>tokenizer.json</c> (the format of the tokenizers
/// library): GPT-2, Llama 2/3, Mistral, Qwen2, SmolLM and other BPE models. Encodings are the same ids the
/// tokenizers library produces. Instances are immutable and safe to use from several threads.
/// </summary>
/// <example>
/// <code>
/// var tokenizer = BpeTokenizer.FromDirectory("models/SmolLM-135M");
/// int[] ids = tokenizer.Encode("Hello world", addSpecialTokens: true);
/// string text = tokenizer.Decode(ids, skipSpecialTokens: true);
/// </code>
/// </example>
public sealed class BpeTokenizer : ITokenizer
{
    private static readonly string[] KnownBosTokens = ["<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>"];
    private static readonly string[] KnownEosTokens = ["</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>"];

    private readonly BpeModel _model;
    private readonly AddedVocabulary _added;
    private readonly IPreTokenizer? _preTokenizer;
    private readonly ITokenDecoder? _decoder;
    private readonly IPostProcessor? _postProcessor;

    private BpeTokenizer(string source, BpeModel model, AddedVocabulary added, IPreTokenizer? preTokenizer,
        ITokenDecoder? decoder, IPostProcessor? postProcessor, TokenizerConfig? config)
    {
        Source = source;
        _model = model;
        _added = added;
        _preTokenizer = preTokenizer;
        _decoder = decoder;
        VocabSize = Math.Max(model.MaxId, added.Tokens.Count == 0 ? -1 : added.Tokens.Max(t => t.Id)) + 1;

        BosTokenId = config?.BosToken is { } bosName
            ? ResolveSpecial(bosName, config, "bos_token")
            : FirstTemplateId(postProcessor) ?? FirstKnown(KnownBosTokens);
        EosTokenId = config?.EosToken is { } eosName ? ResolveSpecial(eosName, config, "eos_token") : FirstKnown(KnownEosTokens);
        // transformers adds a missing pad token to the vocabulary; here it simply stays unknown.
        PadTokenId = config?.PadToken is { } padName ? TokenToId(padName) : null;

        if (config is { RebuildsTemplate: true })
        {
            bool addBos = config.AddBosToken ?? true, addEos = config.AddEosToken ?? false;
            postProcessor = new TemplatePostProcessor(
                addBos && BosTokenId is { } bos ? [bos] : [],
                addEos && EosTokenId is { } eos ? [eos] : []);
        }
        _postProcessor = postProcessor;
    }

    /// <summary>The file (or description) the tokenizer was read from; used in error messages.</summary>
    public string Source { get; }

    /// <inheritdoc/>
    public int VocabSize { get; }

    /// <inheritdoc/>
    /// <remarks>From tokenizer_config.json when present; otherwise the first token of the post-processor template,
    /// or a well-known name (&lt;s&gt;, &lt;|begin_of_text|&gt;, &lt;bos&gt;) found in the vocabulary.</remarks>
    public int? BosTokenId { get; }

    /// <inheritdoc/>
    /// <remarks>From tokenizer_config.json when present; otherwise a well-known name (&lt;/s&gt;, &lt;|end_of_text|&gt;,
    /// &lt;|endoftext|&gt;, &lt;eos&gt;) found in the vocabulary.</remarks>
    public int? EosTokenId { get; }

    /// <inheritdoc/>
    /// <remarks>From tokenizer_config.json (pad_token) only; null when that token is not in the vocabulary.</remarks>
    public int? PadTokenId { get; }

    /// <summary>The added tokens (special and not) of the tokenizer.json, in file order.</summary>
    public IReadOnlyList<AddedToken> AddedTokens => _added.Tokens;

    /// <summary>Reads <c>tokenizer.json</c> and, when present, <c>tokenizer_config.json</c> and
    /// <c>special_tokens_map.json</c> (for the BOS/EOS/pad names and add_bos_token) from a model folder.</summary>
    /// <param name="directory">A Hugging Face model folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder has no tokenizer.json.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, or names a token the vocabulary lacks.</exception>
    /// <exception cref="NotSupportedException">The file uses a model or component type this tokenizer does not implement.</exception>
    public static BpeTokenizer FromDirectory(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Tokenizer folder '{directory}' does not exist.");
        string path = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{directory}' has no tokenizer.json; only the Hugging Face tokenizers format is supported " +
                                            "(a SentencePiece tokenizer.model must first be converted, e.g. by saving it with transformers' fast tokenizer).", path);
        return Load(File.ReadAllBytes(path), path, TokenizerConfig.FromDirectory(directory));
    }

    /// <summary>Reads a <c>tokenizer.json</c> file (without tokenizer_config.json; see <see cref="FromDirectory"/>).</summary>
    /// <param name="path">Path of the tokenizer.json file.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    /// <exception cref="NotSupportedException">The file uses a model or component type this tokenizer does not implement.</exception>
    public static BpeTokenizer FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Tokenizer file '{path}' does not exist.", path);
        return Load(File.ReadAllBytes(path), path, config: null);
    }

    /// <summary>Reads a tokenizer from the text of a <c>tokenizer.json</c> document.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="sourceName">Name used in error messages.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="InvalidDataException">The document is malformed.</exception>
    /// <exception cref="NotSupportedException">The document uses a model or component type this tokenizer does not implement.</exception>
    public static BpeTokenizer FromJson(string json, string sourceName = "tokenizer.json (string)")
    {
        ArgumentNullException.ThrowIfNull(json);
        return Load(System.Text.Encoding.UTF8.GetBytes(json), sourceName, config: null);
    }

    /// <summary>A tokenizer.json document with the special-token names of a tokenizer_config (GGUF import).</summary>
    internal static BpeTokenizer FromJson(string json, string sourceName, TokenizerConfig config) =>
        Load(System.Text.Encoding.UTF8.GetBytes(json), sourceName, config);

    private static BpeTokenizer Load(byte[] utf8Json, string source, TokenizerConfig? config)
    {
        var context = new TokenizerJsonContext(source);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON ({e.Message}).", e);
        }
        using (document)
        {
            try
            {
                return Build(document.RootElement, source, config, context);
            }
            catch (InvalidOperationException e) when (e.TargetSite?.DeclaringType?.Assembly == typeof(JsonDocument).Assembly)
            {
                // A string escape that is not valid UTF-16 (an unpaired surrogate such as "\ud800") only fails
                // when the string is read, with the parser's InvalidOperationException.
                throw new InvalidDataException($"{source}: holds a string that is not valid Unicode ({e.Message}).", e);
            }
        }
    }

    private static BpeTokenizer Build(JsonElement root, string source, TokenizerConfig? config, TokenizerJsonContext context)
    {
        {
            if (root.ValueKind != JsonValueKind.Object)
                throw context.Invalid("$", "must be a JSON object (the tokenizer.json document)");
            var modelJson = context.Required(root, "model", "$");
            string modelType = TokenizerJsonContext.Optional(modelJson, "type") is { ValueKind: JsonValueKind.String } t
                ? t.GetString()!
                : TokenizerJsonContext.Optional(modelJson, "merges") is not null ? "BPE" : "(missing)";
            if (modelType != "BPE")
                throw context.Unsupported("model", modelType, "BPE");

            var model = BpeModel.FromJson(modelJson, context);
            var normalizer = NormalizerFactory.Create(TokenizerJsonContext.Optional(root, "normalizer"), context);
            var added = new AddedVocabulary(ReadAddedTokens(root, model.MaxId, context), normalizer);
            return new BpeTokenizer(source, model, added,
                PreTokenizerFactory.Create(TokenizerJsonContext.Optional(root, "pre_tokenizer"), context),
                DecoderFactory.Create(TokenizerJsonContext.Optional(root, "decoder"), context),
                PostProcessorFactory.Create(TokenizerJsonContext.Optional(root, "post_processor"), context),
                config);
        }
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, int modelMaxId, TokenizerJsonContext context)
    {
        var tokens = new List<AddedToken>();
        if (TokenizerJsonContext.Optional(root, "added_tokens") is not { } list) return tokens;
        if (list.ValueKind != JsonValueKind.Array) throw context.Invalid("added_tokens", "must be an array");
        int i = 0;
        foreach (var item in list.EnumerateArray())
        {
            string path = $"added_tokens[{i++}]";
            bool special = context.OptionalBool(item, "special", false, path);
            tokens.Add(new AddedToken(
                context.RequiredInt(item, "id", path),
                context.RequiredString(item, "content", path),
                special,
                context.OptionalBool(item, "single_word", false, path),
                context.OptionalBool(item, "lstrip", false, path),
                context.OptionalBool(item, "rstrip", false, path),
                context.OptionalBool(item, "normalized", !special, path)));
            if (tokens[^1].Id < 0) throw context.Invalid(path + ".id", "must not be negative");
            if (tokens[^1].Id > (long)modelMaxId + BpeModel.MaxIdGap + tokens.Count)
                throw context.Invalid(path + ".id", $"is {tokens[^1].Id}, far past the vocabulary (largest model id {modelMaxId}); ids must be (nearly) dense");
        }
        return tokens;
    }

    /// <inheritdoc/>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        var segments = new List<TextSegment>();
        _added.Split(text, segments);
        var pieces = new List<string>();
        foreach (var segment in segments)
        {
            if (segment.TokenId >= 0)
            {
                ids.Add(segment.TokenId);
                continue;
            }
            pieces.Clear();
            pieces.Add(segment.Text);
            _preTokenizer?.PreTokenize(pieces, segment.AtStart);
            foreach (string piece in pieces) _model.Tokenize(piece, ids);
        }
        if (addSpecialTokens) _postProcessor?.AddSpecialTokens(ids);
        return ids.ToArray();
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = new List<string>(ids.Length);
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)VocabSize)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is outside the vocabulary 0..{VocabSize - 1} of {Source}.");
            if (_added.ById(id) is { } added)
            {
                if (!(skipSpecialTokens && added.Special)) tokens.Add(added.Content);
                continue;
            }
            if (_model.TokenOf(id) is { } token) tokens.Add(token);
        }
        if (_decoder is null) return string.Join(' ', tokens);
        _decoder.DecodeChain(tokens);
        return string.Concat(tokens);
    }

    /// <summary>The id of a token string (an added token or a vocabulary entry), or null.</summary>
    /// <param name="token">The token as spelled in the vocabulary (byte-level tokens use 'Ġ' for a space).</param>
    /// <returns>The id, or null when the token is unknown.</returns>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_added.ByContent(token) is { } added) return added.Id;
        return _model.TryGetId(token, out int id) ? id : null;
    }

    /// <summary>The token string of an id, as spelled in the vocabulary, or null for an unused id.</summary>
    /// <param name="id">The token id.</param>
    /// <returns>The token, or null.</returns>
    public string? IdToToken(int id) => _added.ById(id)?.Content ?? _model.TokenOf(id);

    private int ResolveSpecial(string name, TokenizerConfig config, string field) =>
        TokenToId(name) ?? throw new InvalidDataException(
            $"{config.Source}: {field} '{name}' is neither an added token nor in the vocabulary of {Source}.");

    private static int? FirstTemplateId(IPostProcessor? processor) => processor switch
    {
        TemplatePostProcessor { Before.Count: > 0 } template => template.Before[0],
        SequencePostProcessor sequence => sequence.Steps.Select(FirstTemplateId).FirstOrDefault(id => id is not null),
        _ => null,
    };

    private int? FirstKnown(string[] names) =>
        names.Select(name => _added.ByContent(name)).FirstOrDefault(t => t is { Special: true })?.Id;
}
