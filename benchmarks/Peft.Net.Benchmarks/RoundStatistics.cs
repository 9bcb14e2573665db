namespace Peft.Net.Benchmarks;

/// <summary>Medians and round-by-round ratios of the benchmarks that alternate a switch off and on in one process.</summary>
internal static class RoundStatistics
{
    /// <summary>The median (the upper one of an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>"median r (min a, max b)" of numerators[i] / denominators[i], round pair by round pair.</summary>
    public static string PairRatios(IEnumerable<double> numerators, IEnumerable<double> denominators)
    {
        var ratios = numerators.Zip(denominators, (n, d) => n / d).Order().ToArray();
        return $"median {ratios[ratios.Length / 2]:F3} (min {ratios[0]:F3}, max {ratios[^1]:F3})";
    }
}
