using System.IO.MemoryMappedFiles;

namespace Peft.Net.Optim;

/// <summary>
/// Optimizer state in memory the operating system may page out: a memory-mapped temporary file (the CPU counterpart
/// of bitsandbytes' paged optimizers, which place state in CUDA unified memory). The file is created with a unique
/// name and removed from its folder at once (on Windows, when it is closed), so no crash leaves it behind; the mapping
/// keeps the pages. Under memory pressure the kernel writes cold pages to the file and reads them back on access.
/// </summary>
internal sealed unsafe class PagedStateFile : IDisposable
{
    private const long Alignment = 4096;
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _pointer;
    private long _used;

    /// <summary>Maps a zero-filled file of <paramref name="capacity"/> bytes in <paramref name="directory"/> (the temp folder when null).</summary>
    /// <exception cref="IOException">The file cannot be created or mapped; the message names it.</exception>
    public PagedStateFile(long capacity, string? directory)
    {
        Capacity = Math.Max(Alignment, capacity);
        string folder = directory ?? System.IO.Path.GetTempPath();
        Path = System.IO.Path.Combine(folder, $".peft-paged-optimizer-{Guid.NewGuid():N}.bin");
        FileStream stream;
        try
        {
            stream = new FileStream(Path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 4096,
                OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{Path}: cannot create the paged optimizer state file ({e.Message}).", e);
        }
        try
        {
            if (!OperatingSystem.IsWindows()) File.Delete(Path); // the open handle and the mapping keep the data
            stream.SetLength(Capacity);
            _file = MemoryMappedFile.CreateFromFile(stream, null, Capacity, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            _view = _file.CreateViewAccessor(0, Capacity, MemoryMappedFileAccess.ReadWrite);
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
            _pointer += _view.PointerOffset;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            throw new IOException($"{Path}: cannot map {Capacity} bytes of paged optimizer state ({e.Message}).", e);
        }
    }

    /// <summary>Where the file was created (already unlinked from its folder on Linux and macOS).</summary>
    public string Path { get; }

    /// <summary>Mapped bytes.</summary>
    public long Capacity { get; }

    /// <summary>Bytes an allocation of <paramref name="bytes"/> takes (rounded up to a page).</summary>
    public static long Footprint(long bytes) => (bytes + Alignment - 1) / Alignment * Alignment;

    /// <summary>A zero-filled, page-aligned region of <paramref name="bytes"/> bytes inside the mapping.</summary>
    /// <exception cref="InvalidOperationException">The mapping is full.</exception>
    public byte* Allocate(long bytes)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        long size = Footprint(bytes);
        if (_used + size > Capacity)
            throw new InvalidOperationException($"{Path}: the paged optimizer state needs more than its {Capacity} bytes.");
        var region = _pointer + _used;
        _used += size;
        return region;
    }

    /// <summary>Unmaps the file (the operating system then drops it).</summary>
    public void Dispose()
    {
        if (_pointer == null) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _pointer = null;
        _view.Dispose();
        _file.Dispose();
    }
}
