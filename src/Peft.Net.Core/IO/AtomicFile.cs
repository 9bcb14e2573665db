namespace Peft.Net.Core.IO;

/// <summary>
/// Crash-safe file writes: the content goes to a temporary file in the target's folder, is flushed to disk, and
/// is then renamed over the target in one step. A reader (or a process that starts after a crash) sees either
/// the previous file or the complete new one, never a half-written file. Every file Peft.Net writes goes through
/// here (or through <see cref="SafetensorsWriter"/>, which follows the same protocol while streaming).
/// </summary>
/// <remarks>
/// The temporary file is named <c>&lt;target&gt;.tmp-&lt;random&gt;</c>, so it is on the same file system as the
/// target (a rename across file systems would not be atomic) and cannot collide with a concurrent writer. When
/// the write delegate throws, the temporary file is deleted and the target is left untouched. The folder entry
/// itself is not fsynced (.NET cannot open a folder handle): after a power loss the rename may be lost, leaving
/// the previous complete file, but never a torn one. A temporary file left by a process that died mid-write is deleted
/// by the next write into the same folder, once no writer holds it (see <see cref="StaleTemporaryFiles"/>).
/// </remarks>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> atomically with the bytes <paramref name="write"/> puts into the stream.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="write">Writes the whole content; the stream is a fresh, empty, write-only file stream.</param>
    /// <exception cref="DirectoryNotFoundException">The target's folder does not exist.</exception>
    /// <exception cref="IOException">The file cannot be written or renamed.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        string target = Path.GetFullPath(path);
        string temporary = TemporaryPathFor(target);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            Commit(temporary, target);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    /// <exception cref="DirectoryNotFoundException">The target's folder does not exist.</exception>
    /// <exception cref="IOException">The file cannot be written or renamed.</exception>
    public static void WriteAllBytes(string path, ReadOnlyMemory<byte> bytes) =>
        Write(path, stream => stream.Write(bytes.Span));

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> atomically as UTF-8 without a byte-order mark.</summary>
    /// <exception cref="DirectoryNotFoundException">The target's folder does not exist.</exception>
    /// <exception cref="IOException">The file cannot be written or renamed.</exception>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(text));
    }

    /// <summary>
    /// A fresh temporary path beside <paramref name="target"/> (same folder, so the final rename is atomic). Temporary
    /// files that an interrupted write left in the folder are removed first (<see cref="StaleTemporaryFiles"/>).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The target's folder does not exist.</exception>
    internal static string TemporaryPathFor(string target)
    {
        string folder = Path.GetDirectoryName(target) ?? ".";
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Cannot write '{target}': folder '{folder}' does not exist.");
        StaleTemporaryFiles.Remove(folder);
        return $"{target}.tmp-{Guid.NewGuid().ToString("N")[..8]}";
    }

    /// <summary>Renames the flushed <paramref name="temporary"/> over <paramref name="target"/> in one step.</summary>
    internal static void Commit(string temporary, string target)
    {
        File.Move(temporary, target, overwrite: true);
    }

    /// <summary>Deletes <paramref name="path"/> if it exists, ignoring failures (used on paths nobody else knows).</summary>
    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the name is unique and the target was never touched.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
