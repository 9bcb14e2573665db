using System.Globalization;
using System.Text;

namespace Peft.Net.Quantization;

/// <summary>
/// Formats a double exactly as Python's <c>repr(float)</c> (and so <c>json.dumps</c>) does: the shortest digits that
/// round-trip, in fixed notation with at least one digit after the point ("0.5", "100.0") when the decimal exponent
/// lies in [-4, 16), otherwise in exponent notation with a signed two-digit-minimum exponent ("1e-05", "1.5e+16").
/// </summary>
internal static class PythonFloatFormat
{
    /// <summary>Python's <c>repr(value)</c>; json.dumps spells the non-finite values NaN, Infinity and -Infinity.</summary>
    public static string Repr(double value)
    {
        if (double.IsNaN(value)) return "NaN";
        if (double.IsPositiveInfinity(value)) return "Infinity";
        if (double.IsNegativeInfinity(value)) return "-Infinity";
        bool negative = double.IsNegative(value);
        if (value == 0) return negative ? "-0.0" : "0.0";

        // .NET's "E16"-free shortest form: "R" gives the shortest round-trip digits, in one of two spellings.
        string shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var (digits, pointPosition) = Decompose(shortest);

        var text = new StringBuilder(32);
        if (negative) text.Append('-');
        // pointPosition is Python's decpt: value = 0.d1d2… × 10^decpt.
        if (pointPosition <= -4 || pointPosition > 16)
        {
            text.Append(digits[0]);
            if (digits.Length > 1) text.Append('.').Append(digits, 1, digits.Length - 1);
            int exponent = pointPosition - 1;
            text.Append('e').Append(exponent < 0 ? '-' : '+').Append(Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (pointPosition <= 0)
            text.Append("0.").Append('0', -pointPosition).Append(digits);
        else if (pointPosition < digits.Length)
            text.Append(digits, 0, pointPosition).Append('.').Append(digits, pointPosition, digits.Length - pointPosition);
        else
            text.Append(digits).Append('0', pointPosition - digits.Length).Append(".0");
        return text.ToString();
    }

    /// <summary>Splits "123.45" or "1.2345E-05" into significant digits without leading/trailing zeros and decpt.</summary>
    private static (string Digits, int PointPosition) Decompose(string shortest)
    {
        int e = shortest.IndexOfAny(['E', 'e']);
        string mantissa = e < 0 ? shortest : shortest[..e];
        int exponent = e < 0 ? 0 : int.Parse(shortest[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int dot = mantissa.IndexOf('.');
        string integerPart = dot < 0 ? mantissa : mantissa[..dot];
        string fraction = dot < 0 ? "" : mantissa[(dot + 1)..];
        string all = integerPart + fraction;
        int point = integerPart.Length + exponent;
        int leading = 0;
        while (leading < all.Length - 1 && all[leading] == '0') leading++;
        all = all[leading..];
        point -= leading;
        return (all.TrimEnd('0') is { Length: > 0 } trimmed ? trimmed : "0", point);
    }
}
