using System.Globalization;

namespace Peft.Net.Cli.Commands.Inspect;

/// <summary>Text forms shared by the inspect reports.</summary>
internal static class InspectFormat
{
    /// <summary><c>[4096,11008]</c>: no spaces, so plain output splits on whitespace.</summary>
    public static string Shape(IReadOnlyList<int> shape) => "[" + string.Join(",", shape) + "]";

    public static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A size such as <c>1.5 MiB</c>.</summary>
    public static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
