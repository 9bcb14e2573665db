namespace Peft.Net.Models.Data;

/// <summary>A JSONL dataset line is not a valid row; the message names the file and the line.</summary>
public sealed class JsonlFormatException : FormatException
{
    /// <summary>Creates the exception for a bad line.</summary>
    /// <param name="source">The file (or description) being read.</param>
    /// <param name="lineNumber">1-based line number.</param>
    /// <param name="problem">What is wrong with the line.</param>
    /// <param name="inner">The underlying parser error, if any.</param>
    public JsonlFormatException(string source, int lineNumber, string problem, Exception? inner = null)
        : base($"{source}:{lineNumber}: {problem}", inner)
    {
        FileName = source;
        LineNumber = lineNumber;
        Problem = problem;
    }

    /// <summary>The file (or description) being read.</summary>
    public string FileName { get; }

    /// <summary>1-based line number of the bad line.</summary>
    public int LineNumber { get; }

    /// <summary>What is wrong with the line.</summary>
    public string Problem { get; }
}
