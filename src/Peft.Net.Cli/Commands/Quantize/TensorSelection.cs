using System.Text.RegularExpressions;
using Peft.Net.Core;

namespace Peft.Net.Cli.Commands.Quantize;

/// <summary>
/// Which tensors <c>peft quantize</c> converts: 2-D floating tensors whose name ends in <c>.weight</c> (or, with
/// <c>--include</c>, whose name matches it), minus embeddings (<c>embed…</c>, <c>wte</c>, <c>wpe</c>), the output head
/// (<c>lm_head</c>) and norms (<c>…norm…</c>, <c>ln_…</c>), minus names matching <c>--exclude</c>.
/// </summary>
internal sealed class TensorSelection(Regex? include, Regex? exclude)
{
    public bool Selects(string name, DType? dtype, ReadOnlySpan<int> shape)
    {
        if (shape.Length != 2 || dtype is not { } d || !d.IsFloatingPoint())
            return false;
        bool wanted = include is not null ? include.IsMatch(name) : name.EndsWith(".weight", StringComparison.Ordinal) && !IsKeptByDefault(name);
        return wanted && !(exclude?.IsMatch(name) ?? false);
    }

    /// <summary>Embeddings, the head and norms, recognised by a path segment (the final "weight" aside).</summary>
    private static bool IsKeptByDefault(string name)
    {
        var segments = name.Split('.');
        return segments[..^1].Any(s => s.Contains("embed", StringComparison.Ordinal) || s is "wte" or "wpe" or "lm_head"
            || s.Contains("norm", StringComparison.Ordinal) || s.StartsWith("ln_", StringComparison.Ordinal));
    }

    /// <summary>Parses a --include/--exclude value.</summary>
    public static Regex? ParsePattern(string option, string? pattern)
    {
        if (pattern is null) return null;
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new Infrastructure.CliUserException($"{option} '{pattern}': not a valid regular expression ({e.Message})");
        }
    }
}
