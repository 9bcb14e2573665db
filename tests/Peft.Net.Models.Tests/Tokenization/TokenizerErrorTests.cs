using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>Malformed and unsupported files fail with exceptions that name the file, the place and the type.</summary>
public class TokenizerErrorTests
{
    private static readonly string[] Vocab = ["a", "b", "ab"];

    [Theory]
    [InlineData("WordPiece")]
    [InlineData("Unigram")]
    [InlineData("WordLevel")]
    public void UnsupportedModelType_NamesTheTypeAndTheFile(string type)
    {
        string json = """{"model": {"type": "TYPE", "vocab": {"a": 0}}}""".Replace("TYPE", type);
        var e = Assert.Throws<NotSupportedException>(() => BpeTokenizer.FromJson(json, "my/tokenizer.json"));
        Assert.Contains(type, e.Message);
        Assert.Contains("my/tokenizer.json", e.Message);
    }

    [Theory]
    [InlineData("normalizer", """{"type": "Precompiled", "precompiled_charsmap": "AAAA"}""", "Precompiled")]
    [InlineData("normalizer", """{"type": "BertNormalizer"}""", "BertNormalizer")]
    [InlineData("pre_tokenizer", """{"type": "UnicodeScripts"}""", "UnicodeScripts")]
    [InlineData("decoder", """{"type": "CTC"}""", "CTC")]
    [InlineData("post_processor", """{"type": "FancyProcessor"}""", "FancyProcessor")]
    public void UnsupportedComponent_NamesTheComponentAndType(string component, string json, string type)
    {
        string document = component switch
        {
            "normalizer" => TokenizerJsonBuilder.Bpe(Vocab, normalizer: json),
            "pre_tokenizer" => TokenizerJsonBuilder.Bpe(Vocab, preTokenizer: json),
            "decoder" => TokenizerJsonBuilder.Bpe(Vocab, decoder: json),
            _ => TokenizerJsonBuilder.Bpe(Vocab, postProcessor: json),
        };
        var e = Assert.Throws<NotSupportedException>(() => BpeTokenizer.FromJson(document, "t.json"));
        Assert.Contains($"'{type}'", e.Message);
        Assert.Contains(component.Replace("_", "-"), e.Message);
        Assert.Contains("t.json", e.Message);
    }

    [Fact]
    public void NotJson_IsInvalidData()
    {
        var e = Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromJson("{\"model\": ", "broken.json"));
        Assert.Contains("broken.json", e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Theory]
    [InlineData("""{"version": "1.0"}""", "'$.model' is missing")]
    [InlineData("""[1, 2]""", "must be a JSON object")]
    [InlineData("""{"model": {"type": "BPE", "vocab": [1, 2], "merges": []}}""", "model.vocab")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}""", "model.vocab[\"a\"]")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}""", "model.merges[0]")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}""", "makes 'ab'")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a  a"]}}""", "two tokens separated by one space")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a"]]}}""", "model.merges[0]")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}}""", "model.unk_token")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "byte_fallback": "yes"}}""", "model.byte_fallback")]
    [InlineData("""{"added_tokens": [{"content": "<s>"}], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "added_tokens[0].id")]
    [InlineData("""{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "pre_tokenizer.pattern.Regex")]
    [InlineData("""{"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "Sideways")]
    [InlineData("""{"pre_tokenizer": {"type": "Metaspace", "replacement": "__"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "pre_tokenizer.replacement")]
    [InlineData("""{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"kind": "x"}]}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "pre_tokenizer.pretokenizers[0].type")]
    [InlineData("""{"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}], "special_tokens": {}}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}""", "'<s>'")]
    public void MalformedDocument_SaysWhereAndWhat(string json, string expectedFragment)
    {
        var e = Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromJson(json, "bad.json"));
        Assert.Contains("bad.json", e.Message);
        Assert.Contains(expectedFragment, e.Message);
    }

    [Fact]
    public void MissingFolderOrFile_AreReported()
    {
        string folder = Path.Combine(Path.GetTempPath(), "peft-tokenizer-" + Guid.NewGuid().ToString("N"));
        Assert.Throws<DirectoryNotFoundException>(() => BpeTokenizer.FromDirectory(folder));
        Directory.CreateDirectory(folder);
        try
        {
            var e = Assert.Throws<FileNotFoundException>(() => Tokenizer.FromDirectory(folder));
            Assert.Contains("tokenizer.json", e.Message);
            Assert.Throws<FileNotFoundException>(() => BpeTokenizer.FromFile(Path.Combine(folder, "tokenizer.json")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ConfigNamingAnUnknownToken_IsReported()
    {
        string folder = Path.Combine(Path.GetTempPath(), "peft-tokenizer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), TokenizerJsonBuilder.Bpe(Vocab));
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"bos_token": "<nope>"}""");
            var e = Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromDirectory(folder));
            Assert.Contains("tokenizer_config.json", e.Message);
            Assert.Contains("<nope>", e.Message);

            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"bos_token": 5}""");
            Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromDirectory(folder));

            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"eos_token": "b", "pad_token": "a", "chat_template": "{{ x }}"}""");
            var tokenizer = BpeTokenizer.FromDirectory(folder);
            Assert.Equal((1, 0), (tokenizer.EosTokenId, tokenizer.PadTokenId));

            // A pad token the vocabulary lacks (transformers would add it) stays unknown instead of failing the load.
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"pad_token": "<pad>"}""");
            Assert.Null(BpeTokenizer.FromDirectory(folder).PadTokenId);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void PostProcessors_TemplateStringAndRoberta()
    {
        const string added = """[{"id": 3, "content": "<s>", "special": true}, {"id": 4, "content": "</s>", "special": true}]""";
        var template = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(Vocab, ["a b"], addedTokens: added, postProcessor:
            """{"type": "TemplateProcessing", "single": "<s> $A:0 </s>", "special_tokens": {"<s>": {"ids": [3]}, "</s>": {"ids": [4]}}}"""));
        Assert.Equal([3, 2, 4], template.Encode("ab", addSpecialTokens: true));
        Assert.Equal(3, template.BosTokenId);
        var roberta = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(Vocab, ["a b"], addedTokens: added, postProcessor:
            """{"type": "RobertaProcessing", "sep": ["</s>", 4], "cls": ["<s>", 3]}"""));
        Assert.Equal([3, 2, 0, 4], roberta.Encode("aba", addSpecialTokens: true));
        Assert.Equal(4, roberta.EosTokenId);
    }
}
