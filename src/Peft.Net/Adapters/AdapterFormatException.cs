namespace Peft.Net.Adapters;

/// <summary>
/// An adapter file (<c>adapter_config.json</c> or <c>adapter_model.safetensors</c>) that is malformed or does not fit
/// the model: a missing or wrongly typed config field, missing or unexpected tensor keys, or shape mismatches. The
/// message starts with the file and names the field or keys.
/// </summary>
public sealed class AdapterFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>; the message is "<c>filePath: problem</c>".</summary>
    /// <param name="filePath">The file (or folder) that is wrong.</param>
    /// <param name="problem">What is wrong, naming the field or tensor keys.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public AdapterFormatException(string filePath, string problem, Exception? innerException = null)
        : base($"{filePath}: {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file (or folder) that is wrong.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Problem { get; }
}
