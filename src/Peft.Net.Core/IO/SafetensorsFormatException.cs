namespace Peft.Net.Core.IO;

/// <summary>
/// A safetensors file is malformed: its header is unreadable, a tensor entry is inconsistent, or the data
/// buffer does not match the entries. The message names the file, the tensor (when one is at fault) and the
/// problem.
/// </summary>
/// <remarks>
/// Derives from <see cref="IOException"/> (<see cref="InvalidDataException"/>, the natural base, is sealed), so
/// callers that treat unreadable files alike can catch <see cref="IOException"/>.
/// </remarks>
public sealed class SafetensorsFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> and, optionally, one tensor.</summary>
    /// <param name="filePath">The file that is malformed.</param>
    /// <param name="tensorName">The tensor whose entry is at fault, or null when the problem is file-wide.</param>
    /// <param name="problem">What is wrong, e.g. <c>"unknown dtype 'F12'"</c>.</param>
    /// <param name="innerException">The underlying error (a JSON parse error), if any.</param>
    public SafetensorsFormatException(string filePath, string? tensorName, string problem, Exception? innerException = null)
        : base(Format(filePath, tensorName, problem), innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>The malformed file.</summary>
    public string FilePath { get; }

    /// <summary>The tensor whose entry is at fault, or null when the problem concerns the whole file.</summary>
    public string? TensorName { get; }

    /// <summary>The problem without the file and tensor prefix.</summary>
    public string Problem { get; }

    private static string Format(string filePath, string? tensorName, string problem) =>
        tensorName is null ? $"{filePath}: {problem}" : $"{filePath}: tensor '{tensorName}': {problem}";
}
