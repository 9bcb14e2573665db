using System.Globalization;
using System.Text;
using Peft.Net.Core.IO;

namespace Peft.Net.Models.Training;

/// <summary>
/// A minimal SVG line chart (axes, ticks, one polyline per series, a legend) for loss curves; no dependencies.
/// The trainer writes its loss plot with it, and the samples their method comparisons.
/// </summary>
/// <param name="title">Chart title.</param>
/// <param name="xLabel">Label of the horizontal axis.</param>
/// <param name="yLabel">Label of the vertical axis.</param>
public sealed class SvgLineChart(string title, string xLabel, string yLabel)
{
    private const int Width = 720, Height = 420, Left = 70, Right = 20, Top = 40, Bottom = 55;
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"];
    private readonly List<(string Name, string Color, IReadOnlyList<(double X, double Y)> Points)> _series = [];

    /// <summary>Adds a series drawn in <paramref name="color"/> (any SVG colour); non-finite points are dropped.</summary>
    public SvgLineChart AddSeries(string name, string color, IEnumerable<(double X, double Y)> points)
    {
        _series.Add((name, color, points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList()));
        return this;
    }

    /// <summary>Adds a series in the next colour of a fixed palette.</summary>
    public SvgLineChart AddSeries(string name, IEnumerable<(double X, double Y)> points) =>
        AddSeries(name, Palette[_series.Count % Palette.Length], points);

    /// <summary>Writes the chart to <paramref name="path"/> atomically, creating its folder.</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, Render());
    }

    /// <summary>The chart as an SVG document.</summary>
    public string Render()
    {
        var all = _series.SelectMany(s => s.Points).ToList();
        double xMin = all.Count > 0 ? all.Min(p => p.X) : 0, xMax = all.Count > 0 ? all.Max(p => p.X) : 1;
        double yMin = all.Count > 0 ? all.Min(p => p.Y) : 0, yMax = all.Count > 0 ? all.Max(p => p.Y) : 1;
        if (xMax <= xMin) xMax = xMin + 1;
        if (yMax <= yMin) { yMin -= 0.5; yMax += 0.5; }
        double pad = (yMax - yMin) * 0.05;
        yMin -= pad;
        yMax += pad;
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Px(double x) => Left + (x - xMin) / (xMax - xMin) * plotW;
        double Py(double y) => Top + (1 - (y - yMin) / (yMax - yMin)) * plotH;

        var svg = new StringBuilder();
        svg.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n"));
        svg.Append(Inv($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n"));
        svg.Append(Inv($"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>\n"));
        for (int i = 0; i <= 5; i++)
        {
            double y = yMin + (yMax - yMin) * i / 5, py = Py(y);
            svg.Append(Inv($"<line x1=\"{Left}\" y1=\"{py:F1}\" x2=\"{Width - Right}\" y2=\"{py:F1}\" stroke=\"#e5e5e5\"/>\n"));
            svg.Append(Inv($"<text x=\"{Left - 6}\" y=\"{py + 4:F1}\" text-anchor=\"end\">{y:G4}</text>\n"));
            double x = xMin + (xMax - xMin) * i / 5, px = Px(x);
            svg.Append(Inv($"<text x=\"{px:F1}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{x:G5}</text>\n"));
        }
        svg.Append(Inv($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>\n"));
        svg.Append(Inv($"<line x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width - Right}\" y2=\"{Height - Bottom}\" stroke=\"black\"/>\n"));
        svg.Append(Inv($"<text x=\"{Left + plotW / 2:F1}\" y=\"{Height - 12}\" text-anchor=\"middle\">{Escape(xLabel)}</text>\n"));
        svg.Append(Inv($"<text x=\"16\" y=\"{Top + plotH / 2:F1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {Top + plotH / 2:F1})\">{Escape(yLabel)}</text>\n"));
        for (int s = 0; s < _series.Count; s++)
        {
            var (name, color, points) = _series[s];
            if (points.Count == 1)
                svg.Append(Inv($"<circle cx=\"{Px(points[0].X):F1}\" cy=\"{Py(points[0].Y):F1}\" r=\"3\" fill=\"{color}\"/>\n"));
            else if (points.Count > 1)
                svg.Append(Inv($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{string.Join(" ", points.Select(p => Inv($"{Px(p.X):F1},{Py(p.Y):F1}")))}\"/>\n"));
            double ly = Top + 8 + 16 * s;
            svg.Append(Inv($"<line x1=\"{Width - Right - 110}\" y1=\"{ly:F1}\" x2=\"{Width - Right - 90}\" y2=\"{ly:F1}\" stroke=\"{color}\" stroke-width=\"2\"/>\n"));
            svg.Append(Inv($"<text x=\"{Width - Right - 85}\" y=\"{ly + 4:F1}\">{Escape(name)}</text>\n"));
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
