using System.Text;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>Seeded random strings of valid Unicode scalar values (never a lone surrogate) from many scripts.</summary>
internal static class RandomText
{
    private static readonly string[] Whitespace = [" ", " ", "  ", "\n", "\t", "\r\n", "\n\n", "   ", "\u00A0", "\u3000"];

    private static readonly (int Lo, int Hi)[] Blocks =
    [
        ('a', 'z'), ('A', 'Z'), ('0', '9'), ('!', '/'), (':', '@'), (0xC0, 0x17F), (0x370, 0x3FF), (0x400, 0x4FF),
        (0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F), (0x300, 0x36F), (0x3040, 0x30FF), (0x4E00, 0x9FFF),
        (0xAC00, 0xD7A3), (0x2000, 0x2BFF), (0xE000, 0xF8FF), (0xFE00, 0xFFFF), (0x1F300, 0x1FAFF), (0x1D400, 0x1D7FF),
        (0x20000, 0x2A6DF), (0x10000, 0x10FFFF),
    ];

    public static IEnumerable<string> Strings(int count, int seed, Func<int, bool>? allow = null)
    {
        var random = new Random(seed);
        for (int n = 0; n < count; n++)
        {
            var sb = new StringBuilder();
            int length = random.Next(0, 40);
            for (int i = 0; i < length; i++)
            {
                if (random.NextDouble() < 0.2)
                {
                    sb.Append(Whitespace[random.Next(Whitespace.Length)]);
                    continue;
                }
                var (lo, hi) = Blocks[random.Next(Blocks.Length)];
                int codePoint = random.Next(lo, hi + 1);
                if (codePoint is >= 0xD800 and <= 0xDFFF || (allow is not null && !allow(codePoint))) codePoint = 'x';
                sb.Append(char.ConvertFromUtf32(codePoint));
            }
            yield return sb.ToString();
        }
    }

    /// <summary>Hand-picked strings that stress pre-tokenizers and byte handling.</summary>
    public static readonly string[] Tricky =
    [
        "", " ", "\n", "\t\t", "\r\n\r\n", "a", "  a  ", "a\n\n\nb", "Hello   world", "tabs\tand\nnewlines\r\n",
        "1234567890123", "3.14e-10", "x=1;y=2", "I'm you're we'VE THEY'LL", "'s't're", "\u00e9\u0301\u0302", "e\u0301",
        "😀", "😀😀😀", "👩🏽‍💻 coding", "🇩🇪🇫🇷", "𝕳𝖊𝖑𝖑𝖔", "𠀀𠀁𠀂", "日本語", "中文", "한국어", "עברית", "العربية",
        "\u200b\u200c\u200d", "\ufeffBOM", "\u0000nul", "\u001f\u007f\u0085", "\uffff\ufffe", "\U0010FFFF", "\U000E0001",
        "a\u0300\u0301\u0302\u0303b", "<|not_a_token|>", "<0x41>", "▁▁", "    def f(x):\n        return x\n",
    ];
}
