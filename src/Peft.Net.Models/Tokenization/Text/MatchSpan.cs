namespace Peft.Net.Models.Tokenization.Text;

/// <summary>A half-open range [Start, End) of UTF-16 indices in a string.</summary>
internal readonly record struct MatchSpan(int Start, int End)
{
    public int Length => End - Start;
}
