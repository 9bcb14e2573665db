namespace Peft.Net.Core.IO;

/// <summary>
/// Removes the <c>&lt;target&gt;.tmp-&lt;8 hex digits&gt;</c> files that a write interrupted by a crash (a killed process,
/// a power loss) left beside its target: <see cref="AtomicFile"/> calls it before every write into a folder.
/// </summary>
/// <remarks>
/// A temporary file is stale when no writer holds it and it has not been written to for
/// <see cref="QuietPeriod"/>. Writers keep their temporary file open with <see cref="FileShare.None"/>, which .NET turns
/// into an exclusive lock (flock on Unix, the share mode on Windows) that a killed process loses at once; the quiet
/// period covers the instant between a writer closing its file and renaming it. Nothing else in the folder is touched:
/// the name must end in <c>.tmp-</c> and exactly eight lower-case hex digits, as <see cref="AtomicFile"/> names them.
/// </remarks>
internal static class StaleTemporaryFiles
{
    /// <summary>How long a temporary file must have been left unwritten before it is taken for a crash's leftover.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(10);

    private const string Marker = ".tmp-";
    private const int SuffixLength = 8;

    /// <summary>True when <paramref name="fileName"/> has the form of an <see cref="AtomicFile"/> temporary name.</summary>
    public static bool IsTemporaryName(string fileName)
    {
        int marker = fileName.Length - SuffixLength - Marker.Length;
        if (marker <= 0 || string.CompareOrdinal(fileName, marker, Marker, 0, Marker.Length) != 0)
            return false;
        foreach (char c in fileName.AsSpan(fileName.Length - SuffixLength))
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
                return false;
        return true;
    }

    /// <summary>Deletes the stale temporary files of <paramref name="folder"/>; returns how many. Never throws for a file it cannot remove.</summary>
    public static int Remove(string folder)
    {
        int removed = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(folder, "*" + Marker + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        var now = DateTime.UtcNow;
        foreach (string path in candidates)
        {
            if (!IsTemporaryName(Path.GetFileName(path)))
                continue;
            try
            {
                if (now - File.GetLastWriteTimeUtc(path) < QuietPeriod)
                    continue;
                // Opening it exclusively fails while a live writer holds it; holding it, nobody else can start using it.
                using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None | FileShare.Delete, bufferSize: 1))
                    File.Delete(path);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use, already gone, or not ours to delete: leave it.
            }
        }
        return removed;
    }
}
