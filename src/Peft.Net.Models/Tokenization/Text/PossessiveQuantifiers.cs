using System.Text;

namespace Peft.Net.Models.Tokenization.Text;

/// <summary>
/// Rewrites possessive quantifiers (<c>x*+</c>, <c>x++</c>, <c>x?+</c>, <c>x{n,m}+</c>), which Oniguruma and PCRE
/// accept but .NET does not, into the equivalent atomic groups (<c>(?&gt;x*)</c>).
/// </summary>
internal static class PossessiveQuantifiers
{
    public static string ToAtomicGroups(string pattern)
    {
        if (!pattern.Contains("*+") && !pattern.Contains("++") && !pattern.Contains("?+") && !pattern.Contains("}+"))
            return pattern;

        var sb = new StringBuilder(pattern.Length + 16);
        var openGroups = new Stack<int>();
        int atomStart = -1; // where the last complete atom starts in sb; -1 when a quantifier cannot follow
        int i = 0;
        while (i < pattern.Length)
        {
            char c = pattern[i];
            int quantifierLength = QuantifierLength(pattern, i);
            if (quantifierLength > 0)
            {
                string quantifier = pattern.Substring(i, quantifierLength);
                i += quantifierLength;
                bool possessive = i < pattern.Length && pattern[i] == '+';
                if (possessive && atomStart >= 0)
                {
                    sb.Insert(atomStart, "(?>");
                    sb.Append(quantifier).Append(')');
                    i++;
                }
                else
                {
                    sb.Append(quantifier);
                    if (i < pattern.Length && pattern[i] == '?') sb.Append(pattern[i++]); // lazy
                }
                atomStart = -1;
                continue;
            }

            switch (c)
            {
                case '\\':
                    atomStart = sb.Length;
                    i = CopyEscape(pattern, i, sb);
                    break;
                case '[':
                    atomStart = sb.Length;
                    i = CopyClass(pattern, i, sb);
                    break;
                case '(':
                    openGroups.Push(sb.Length);
                    sb.Append(c);
                    atomStart = -1;
                    i++;
                    break;
                case ')':
                    atomStart = openGroups.Count > 0 ? openGroups.Pop() : -1;
                    sb.Append(c);
                    i++;
                    break;
                case '|' or '^' or '$':
                    atomStart = -1;
                    sb.Append(c);
                    i++;
                    break;
                default:
                    atomStart = sb.Length;
                    sb.Append(c);
                    i++;
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Length of the quantifier (*, +, ?, {n}, {n,}, {n,m}) starting at <paramref name="i"/>, or 0.</summary>
    private static int QuantifierLength(string p, int i)
    {
        char c = p[i];
        if (c is '*' or '+' or '?') return 1;
        if (c != '{') return 0;
        int j = i + 1;
        int digits = 0;
        while (j < p.Length && char.IsAsciiDigit(p[j])) { j++; digits++; }
        if (digits == 0) return 0;
        if (j < p.Length && p[j] == ',')
        {
            j++;
            while (j < p.Length && char.IsAsciiDigit(p[j])) j++;
        }
        return j < p.Length && p[j] == '}' ? j + 1 - i : 0;
    }

    private static int CopyEscape(string p, int i, StringBuilder sb)
    {
        int end = Math.Min(i + 2, p.Length);
        if (end < p.Length && (p[i + 1] is 'p' or 'P' or 'x' or 'k') && p[end] is '{' or '<')
        {
            char close = p[end] == '{' ? '}' : '>';
            int closeAt = p.IndexOf(close, end);
            end = closeAt < 0 ? p.Length : closeAt + 1;
        }
        sb.Append(p, i, end - i);
        return end;
    }

    private static int CopyClass(string p, int i, StringBuilder sb)
    {
        int j = i + 1;
        if (j < p.Length && p[j] == '^') j++;
        if (j < p.Length && p[j] == ']') j++; // a leading ']' is a literal
        int depth = 1;
        while (j < p.Length && depth > 0)
        {
            if (p[j] == '\\') { j += 2; continue; }
            if (p[j] == '[') depth++;
            else if (p[j] == ']') depth--;
            j++;
        }
        j = Math.Min(j, p.Length);
        sb.Append(p, i, j - i);
        return j;
    }
}
