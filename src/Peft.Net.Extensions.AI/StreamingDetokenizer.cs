using Peft.Net.Models.Tokenization;

namespace Peft.Net.Extensions.AI;

/// <summary>
/// Turns generated ids into text pieces as they arrive: decodes the whole reply each time and emits what is new,
/// holding back an incomplete UTF-8 character (U+FFFD at the end) and any tail that could be the start of a stop
/// sequence, and reports when a stop sequence appears (the reply then ends just before it).
/// </summary>
internal sealed class StreamingDetokenizer(ITokenizer tokenizer, IReadOnlyList<string> stopSequences)
{
    private readonly List<int> _ids = [];
    private int _emitted;

    /// <summary>The reply text so far (after a stop: up to the stop sequence).</summary>
    public string Text { get; private set; } = "";

    /// <summary>True once a stop sequence has been found.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds one id; returns the text that can be shown now (possibly empty).</summary>
    public string Add(int id)
    {
        _ids.Add(id);
        string full = tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids), skipSpecialTokens: true);
        int stopAt = -1;
        foreach (var stop in stopSequences)
        {
            int at = stop.Length == 0 ? -1 : full.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (stopAt < 0 || at < stopAt)) stopAt = at;
        }
        if (stopAt >= 0)
        {
            Stopped = true;
            Text = full[..stopAt];
            return Flush(stopAt);
        }
        Text = full;
        int end = full.Length > 0 && full[^1] == '\uFFFD' ? full.Length - 1 : full.Length; // an incomplete UTF-8 character
        int safe = end;
        foreach (var stop in stopSequences)
            for (int k = Math.Min(stop.Length - 1, end); k > 0; k--)
                if (string.CompareOrdinal(full, end - k, stop, 0, k) == 0)
                {
                    safe = Math.Min(safe, end - k); // the tail could be the start of this stop sequence
                    break;
                }
        return Flush(safe);
    }

    /// <summary>Whatever is still held back (at the end of generation).</summary>
    public string Finish() => Flush(Text.Length);

    private string Flush(int upTo)
    {
        if (upTo <= _emitted) return "";
        string piece = Text[_emitted..upTo];
        _emitted = upTo;
        return piece;
    }
}
