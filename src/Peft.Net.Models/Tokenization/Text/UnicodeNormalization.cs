using System.Text;

namespace Peft.Net.Models.Tokenization.Text;

/// <summary>
/// Unicode normalization (NFC, NFD, NFKC, NFKD) from tables generated into UnicodeNormalization.Data.cs, so it works
/// without ICU (globalization-invariant mode) and gives the same result on every platform. Hangul syllables are
/// composed and decomposed algorithmically. Unpaired surrogates pass through unchanged; nothing here throws on text.
/// </summary>
internal static partial class UnicodeNormalization
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    /// <summary>Normalizes <paramref name="text"/> to the form: canonical or compatibility decomposition, then composition for C forms.</summary>
    public static string Normalize(string text, NormalizationForm form)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool compose = form is NormalizationForm.FormC or NormalizationForm.FormKC;
        bool compat = form is NormalizationForm.FormKC or NormalizationForm.FormKD;
        if (IsTriviallyNormalized(text, compose)) return text;
        var points = new List<int>(text.Length + 8);
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                cp = char.ConvertToUtf32(text[i], text[++i]);
            Decompose(cp, compat, points);
        }
        ReorderMarks(points);
        if (compose) Compose(points);
        var sb = new StringBuilder(points.Count + 8);
        foreach (int cp in points)
        {
            if (cp <= 0xFFFF) sb.Append((char)cp);
            else sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    /// <summary>Text below U+0300 is in every form when composing and in D forms only when nothing decomposes (ASCII).</summary>
    private static bool IsTriviallyNormalized(string text, bool compose)
    {
        foreach (char c in text)
        {
            if (c < 0x80) continue;
            if (!compose || c >= 0x300 || c is '\u00A0' or '\u00A8' or '\u00AA' or '\u00AF' or (>= '\u00B2' and <= '\u00B5')
                or (>= '\u00B8' and <= '\u00BA') or (>= '\u00BC' and <= '\u00BE') or (>= '\u0132' and <= '\u0133')
                or (>= '\u013F' and <= '\u0140') or '\u0149' or '\u017F' or (>= '\u01C4' and <= '\u01CC') or (>= '\u01F1' and <= '\u01F3')
                or (>= '\u02B0' and <= '\u02B8') or (>= '\u02D8' and <= '\u02DD') or (>= '\u02E0' and <= '\u02E4'))
                return false;
        }
        return true;
    }

    private static void Decompose(int cp, bool compat, List<int> output)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int s = cp - SBase;
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        int index = Array.BinarySearch(DecompositionKeys, cp);
        if (index < 0 || (!compat && (DecompositionOffsets[index] & 1) != 0))
        {
            output.Add(cp);
            return;
        }
        int start = DecompositionOffsets[index] >> 1, end = DecompositionOffsets[index + 1] >> 1;
        for (int i = start; i < end; i++) Decompose(DecompositionData[i], compat, output);
    }

    public static int CombiningClass(int cp)
    {
        if (cp < 0x300) return 0;
        int lo = 0, hi = CombiningClasses.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int key = CombiningClasses[2 * mid];
            if (key == cp) return CombiningClasses[2 * mid + 1];
            if (key < cp) lo = mid + 1;
            else hi = mid - 1;
        }
        return 0;
    }

    /// <summary>Canonical ordering: a stable sort of every run of non-starters by combining class.</summary>
    private static void ReorderMarks(List<int> points)
    {
        for (int i = 1; i < points.Count; i++)
        {
            int cls = CombiningClass(points[i]);
            if (cls == 0) continue;
            int j = i;
            int cp = points[i];
            while (j > 0 && CombiningClass(points[j - 1]) > cls)
            {
                points[j] = points[j - 1];
                j--;
            }
            points[j] = cp;
        }
    }

    /// <summary>The canonical composition algorithm (UAX #15): each mark joins the last starter unless blocked.</summary>
    private static void Compose(List<int> points)
    {
        if (points.Count < 2) return;
        int starter = -1, lastClass = -1, write = 0;
        for (int read = 0; read < points.Count; read++)
        {
            int cp = points[read];
            int cls = CombiningClass(cp);
            if (starter >= 0 && (lastClass < cls || (lastClass == 0 && write == starter + 1)) && TryCompose(points[starter], cp, out int composite))
            {
                points[starter] = composite;
                continue;
            }
            if (cls == 0) { starter = write; lastClass = 0; }
            else lastClass = cls;
            points[write++] = cp;
            if (cls == 0) lastClass = 0;
        }
        points.RemoveRange(write, points.Count - write);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
            return true;
        }
        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0 && second is > TBase and < TBase + TCount)
        {
            composite = first + (second - TBase);
            return true;
        }
        int index = Array.BinarySearch(CompositionPairs, (long)first << 21 | (uint)second);
        composite = index >= 0 ? CompositionResults[index] : 0;
        return index >= 0;
    }
}
