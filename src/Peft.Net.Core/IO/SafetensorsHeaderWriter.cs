using System.Text;

namespace Peft.Net.Core.IO;

/// <summary>
/// Serializes a safetensors header byte for byte as the reference implementation does (serde_json, compact):
/// <c>{"__metadata__":{…},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},…}</c> in the given order,
/// UTF-8 without escaping non-ASCII, then spaces up to a multiple of 8 bytes so the data buffer is aligned.
/// </summary>
internal static class SafetensorsHeaderWriter
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The padded header bytes for <paramref name="tensors"/> stored back to back from offset 0.</summary>
    /// <exception cref="ArgumentException">A name or metadata string is not valid Unicode (a lone surrogate).</exception>
    public static byte[] Serialize(IReadOnlyList<SafetensorsTensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new List<byte>(64 + 96 * tensors.Count);
        json.Add((byte)'{');
        bool first = true;
        if (metadata is { Count: > 0 })
        {
            AppendString(json, "__metadata__");
            json.AddRange(":{"u8);
            bool firstKey = true;
            foreach (var (key, value) in metadata)
            {
                if (!firstKey) json.Add((byte)',');
                AppendString(json, key);
                json.Add((byte)':');
                AppendString(json, value);
                firstKey = false;
            }
            json.Add((byte)'}');
            first = false;
        }
        long offset = 0;
        foreach (var spec in tensors)
        {
            if (!first) json.Add((byte)',');
            AppendString(json, spec.Name);
            json.AddRange(":{\"dtype\":"u8);
            AppendString(json, spec.DType.ToSafetensorsName());
            json.AddRange(",\"shape\":["u8);
            for (int i = 0; i < spec.Shape.Length; i++)
            {
                if (i > 0) json.Add((byte)',');
                AppendAscii(json, spec.Shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            long end = offset + spec.ByteLength;
            json.AddRange("],\"data_offsets\":["u8);
            AppendAscii(json, offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
            json.Add((byte)',');
            AppendAscii(json, end.ToString(System.Globalization.CultureInfo.InvariantCulture));
            json.AddRange("]}"u8);
            offset = end;
            first = false;
        }
        json.Add((byte)'}');
        while (json.Count % 8 != 0)
            json.Add((byte)' ');
        return json.ToArray();
    }

    /// <summary>A JSON string as serde_json writes it: escapes only '"', '\\' and control characters (lower-case hex).</summary>
    private static void AppendString(List<byte> json, string value)
    {
        byte[] utf8;
        try
        {
            utf8 = StrictUtf8.GetBytes(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"Safetensors key or value \"{value}\" is not valid Unicode (lone surrogate).", nameof(value), e);
        }
        json.Add((byte)'"');
        foreach (byte b in utf8)
        {
            switch (b)
            {
                case (byte)'"': json.AddRange("\\\""u8); break;
                case (byte)'\\': json.AddRange("\\\\"u8); break;
                case (byte)'\b': json.AddRange("\\b"u8); break;
                case (byte)'\f': json.AddRange("\\f"u8); break;
                case (byte)'\n': json.AddRange("\\n"u8); break;
                case (byte)'\r': json.AddRange("\\r"u8); break;
                case (byte)'\t': json.AddRange("\\t"u8); break;
                case < 0x20:
                    json.AddRange("\\u00"u8);
                    json.Add((byte)"0123456789abcdef"[b >> 4]);
                    json.Add((byte)"0123456789abcdef"[b & 0xF]);
                    break;
                default: json.Add(b); break;
            }
        }
        json.Add((byte)'"');
    }

    private static void AppendAscii(List<byte> json, string text)
    {
        foreach (char c in text) json.Add((byte)c);
    }
}
