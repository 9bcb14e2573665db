using System.Globalization;
using System.Text;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>Python's <c>datetime.strftime</c> in the C locale, for the <c>strftime_now</c> global.</summary>
internal static class PyStrftime
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string Format(DateTime t, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            char c = format[++i];
            var ci = CultureInfo.InvariantCulture;
            sb.Append(c switch
            {
                'a' => Days[(int)t.DayOfWeek][..3],
                'A' => Days[(int)t.DayOfWeek],
                'b' or 'h' => Months[t.Month - 1][..3],
                'B' => Months[t.Month - 1],
                'd' => t.Day.ToString("00", ci),
                'e' => t.Day.ToString(ci).PadLeft(2),
                'm' => t.Month.ToString("00", ci),
                'y' => (t.Year % 100).ToString("00", ci),
                'Y' => t.Year.ToString(ci),
                'H' => t.Hour.ToString("00", ci),
                'I' => ((t.Hour + 11) % 12 + 1).ToString("00", ci),
                'M' => t.Minute.ToString("00", ci),
                'S' => t.Second.ToString("00", ci),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'j' => t.DayOfYear.ToString("000", ci),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", ci),
                'F' => t.ToString("yyyy-MM-dd", ci),
                'T' => t.ToString("HH:mm:ss", ci),
                '%' => "%",
                _ => throw new ChatTemplateException($"strftime_now: the format code '%{c}' is not supported by this renderer"),
            });
        }
        return sb.ToString();
    }
}
