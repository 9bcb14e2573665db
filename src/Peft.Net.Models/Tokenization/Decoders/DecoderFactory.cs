using System.Text.Json;
using Peft.Net.Models.Tokenization.Json;
using Peft.Net.Models.Tokenization.PreTokenizers;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.Decoders;

/// <summary>Builds the decoder described by the <c>"decoder"</c> object of a tokenizer.json.</summary>
internal static class DecoderFactory
{
    private const string Supported = "ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, BPEDecoder, Sequence";

    public static ITokenDecoder? Create(JsonElement? json, TokenizerJsonContext context, string path = "decoder")
    {
        if (json is not { } element) return null;
        string type = context.TypeOf(element, path);
        switch (type)
        {
            case "Sequence":
            {
                var steps = new List<ITokenDecoder>();
                int i = 0;
                foreach (var item in context.RequiredArray(element, "decoders", path).EnumerateArray())
                    steps.Add(Create(item, context, $"{path}.decoders[{i++}]")!);
                return new SequenceDecoder(steps);
            }
            case "ByteLevel": return new ByteLevelDecoder();
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Metaspace":
                return new MetaspaceDecoder(
                    context.RequiredChar(element, "replacement", path),
                    PreTokenizerFactory.ParsePrependScheme(element, context, path));
            case "Strip":
                return new StripDecoder(
                    context.RequiredChar(element, "content", path),
                    context.OptionalInt(element, "start", 0, path),
                    context.OptionalInt(element, "stop", 0, path));
            case "Replace":
                return new ReplaceDecoder(
                    TextPattern.FromJson(context.Required(element, "pattern", path), context, path + ".pattern"),
                    context.RequiredString(element, "content", path));
            case "BPEDecoder":
                return new WordSuffixDecoder(context.OptionalString(element, "suffix", path) ?? "</w>");
            default:
                throw context.Unsupported("decoder", type, Supported);
        }
    }
}
