using System.Globalization;
using System.Net;
using System.Text;

namespace Peft.Net.Samples;

/// <summary>A small multi-series SVG line chart (axes, ticks, one polyline per series, a legend) for loss curves.</summary>
internal sealed class SvgLossChart(string title, string xLabel, string yLabel)
{
    private const int Width = 760, Height = 440, Left = 70, Right = 190, Top = 40, Bottom = 55;
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"];
    private readonly List<(string Name, IReadOnlyList<(double X, double Y)> Points)> _series = [];

    public int SeriesCount => _series.Count;

    public SvgLossChart Add(string name, IEnumerable<(double X, double Y)> points)
    {
        _series.Add((name, points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList()));
        return this;
    }

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, Render());
    }

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
        static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{WebUtility.HtmlEncode(title)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{F(plotW)}\" height=\"{F(plotH)}\" fill=\"none\" stroke=\"#444\"/>\n");
        for (int i = 0; i <= 5; i++)
        {
            double x = xMin + (xMax - xMin) * i / 5, y = yMin + (yMax - yMin) * i / 5;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(Px(x))}\" y1=\"{Top}\" x2=\"{F(Px(x))}\" y2=\"{F(Top + plotH)}\" stroke=\"#eee\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Px(x))}\" y=\"{F(Top + plotH + 16)}\" text-anchor=\"middle\">{x.ToString("0.#", CultureInfo.InvariantCulture)}</text>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{F(Py(y))}\" x2=\"{F(Left + plotW)}\" y2=\"{F(Py(y))}\" stroke=\"#eee\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{F(Py(y) + 4)}\" text-anchor=\"end\">{y.ToString("0.00", CultureInfo.InvariantCulture)}</text>\n");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Left + plotW / 2)}\" y=\"{Height - 12}\" text-anchor=\"middle\">{WebUtility.HtmlEncode(xLabel)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"18\" y=\"{F(Top + plotH / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {F(Top + plotH / 2)})\">{WebUtility.HtmlEncode(yLabel)}</text>\n");
        for (int s = 0; s < _series.Count; s++)
        {
            var (name, points) = _series[s];
            string color = Palette[s % Palette.Length];
            string coordinates = string.Join(' ', points.Select(p => $"{F(Px(p.X))},{F(Py(p.Y))}"));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\" points=\"{coordinates}\"><title>{WebUtility.HtmlEncode(name)}</title></polyline>\n");
            double legendY = Top + 14 + 20 * s;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(Left + plotW + 14)}\" y1=\"{F(legendY)}\" x2=\"{F(Left + plotW + 36)}\" y2=\"{F(legendY)}\" stroke=\"{color}\" stroke-width=\"3\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Left + plotW + 42)}\" y=\"{F(legendY + 4)}\">{WebUtility.HtmlEncode(name)}</text>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
