namespace Peft.Net.Core.IO.Gguf;

/// <summary>
/// A GGUF file is malformed or hostile: truncated, a bad magic or version, an unknown value or tensor type, a string
/// or array longer than the file, a duplicate key or tensor, a misplaced tensor, or data past the end of the file.
/// The message names the file, the key or tensor at fault (when one is) and the problem.
/// </summary>
/// <remarks>Derives from <see cref="IOException"/>, as <see cref="SafetensorsFormatException"/> does.</remarks>
public sealed class GgufFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> and, optionally, one key or tensor.</summary>
    /// <param name="filePath">The malformed file.</param>
    /// <param name="item">The metadata key or tensor at fault (e.g. <c>"tensor 'blk.0.attn_q.weight'"</c>), or null.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public GgufFormatException(string filePath, string? item, string problem, Exception? innerException = null)
        : base(item is null ? $"{filePath}: {problem}" : $"{filePath}: {item}: {problem}", innerException)
    {
        FilePath = filePath;
        Item = item;
        Problem = problem;
    }

    /// <summary>The malformed file.</summary>
    public string FilePath { get; }

    /// <summary>The key or tensor at fault, or null when the problem concerns the whole file.</summary>
    public string? Item { get; }

    /// <summary>The problem without the file and item prefix.</summary>
    public string Problem { get; }
}
