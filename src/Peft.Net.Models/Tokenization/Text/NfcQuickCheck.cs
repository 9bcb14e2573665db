using System.Text;

namespace Peft.Net.Models.Tokenization.Text;

/// <summary>
/// A conservative NFC quick check that needs no globalization data: true means the text is certainly in NFC.
/// Used when .NET runs in globalization-invariant mode, where <see cref="string.Normalize()"/> does nothing.
/// </summary>
internal static partial class NfcQuickCheck
{
    public static bool IsNormalized(string text)
    {
        foreach (Rune rune in text.EnumerateRunes())
            if (rune.Value >= 0x300 && MayChange(rune.Value)) return false;
        return true;
    }

    private static bool MayChange(int codePoint)
    {
        int lo = 0, hi = MaybeChangedRanges.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (codePoint < MaybeChangedRanges[2 * mid]) hi = mid - 1;
            else if (codePoint > MaybeChangedRanges[2 * mid + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }
}
