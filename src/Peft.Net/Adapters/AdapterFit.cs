namespace Peft.Net.Adapters;

/// <summary>
/// The one wording of "this adapter file does not fit the model" for every backend: the missing, unexpected,
/// mis-shaped and non-float tensors, listed in one <see cref="AdapterFormatException"/>.
/// </summary>
internal static class AdapterFit
{
    /// <summary>Throws when any list is non-empty; otherwise returns.</summary>
    /// <exception cref="AdapterFormatException">The file does not fit; the message lists every problem.</exception>
    public static void ThrowIfProblems(string weightsPath, string adapterName, IReadOnlyCollection<string> missing, IReadOnlyCollection<string> unexpected,
        IReadOnlyCollection<string> mismatched, IReadOnlyCollection<string> unsupported)
    {
        if (missing.Count + unexpected.Count + mismatched.Count + unsupported.Count == 0) return;
        var problems = new List<string>();
        if (missing.Count > 0) problems.Add($"missing keys [{string.Join(", ", missing)}]");
        if (unexpected.Count > 0) problems.Add($"unexpected keys [{string.Join(", ", unexpected)}]");
        if (mismatched.Count > 0) problems.Add($"shape mismatches [{string.Join("; ", mismatched)}]");
        if (unsupported.Count > 0) problems.Add($"non-float tensors [{string.Join(", ", unsupported)}]");
        throw new AdapterFormatException(weightsPath, $"does not fit the model's adapter '{adapterName}': {string.Join("; ", problems)}");
    }
}
