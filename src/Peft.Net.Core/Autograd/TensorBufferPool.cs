namespace Peft.Net.Core.Autograd;

/// <summary>
/// Free lists of float arrays by size class, with a bound on the bytes they keep. A request for n floats is served
/// by an array of <see cref="SizeClass"/>(n) floats (at most 25 % longer, four classes per power of two), so batches
/// of different lengths reuse each other's arrays; the caller uses the first n elements. Thread-safe.
/// </summary>
/// <remarks>
/// <para><b>Bound.</b> After every <see cref="Return"/>, <see cref="FreeBytes"/> ≤ <see cref="LimitBytes"/>. The limit is
/// <see cref="ExplicitLimitBytes"/> when set; otherwise 2 × <see cref="HighWaterBytes"/>, the largest number of bytes
/// that were out of the pool at once during one working set (one forward + backward pass of a training graph, ended by
/// <see cref="EndWorkingSet"/>), and unlimited before the first working set ends. So the memory a trainer keeps for
/// activations and gradients is at most 3 × the working set of its largest step (2 × free plus 1 × in use), whatever
/// the sequence of batch lengths; a step of a fixed shape finds every array it needs and allocates nothing.</para>
/// <para><b>Trimming.</b> When a returned array would push the free bytes over the limit, whole size classes are
/// dropped, the least recently used first (the garbage collector reclaims them).</para>
/// </remarks>
internal sealed class TensorBufferPool
{
    private readonly Dictionary<int, FreeList> _free = [];
    private long _freeBytes;
    private long _outBytes;
    private long _peakOutBytes;
    private long _highWaterBytes;
    private long? _explicitLimit;
    private long _clock;

    /// <summary>Bytes held in the free lists (not lent out).</summary>
    public long FreeBytes
    {
        get { lock (_free) return _freeBytes; }
    }

    /// <summary>The largest number of bytes out of the pool at once during one working set (see <see cref="EndWorkingSet"/>).</summary>
    public long HighWaterBytes
    {
        get { lock (_free) return Math.Max(_highWaterBytes, _peakOutBytes); }
    }

    /// <summary>A fixed limit on <see cref="FreeBytes"/>; null (the default) derives it from <see cref="HighWaterBytes"/>.</summary>
    public long? ExplicitLimitBytes
    {
        get { lock (_free) return _explicitLimit; }
        set
        {
            if (value is < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "The pool limit must be ≥ 0 bytes.");
            lock (_free)
            {
                _explicitLimit = value;
                TrimTo(CurrentLimit());
            }
        }
    }

    /// <summary>The bound that <see cref="FreeBytes"/> keeps after every return (<see cref="long.MaxValue"/> while unlimited).</summary>
    public long LimitBytes
    {
        get { lock (_free) return CurrentLimit(); }
    }

    /// <summary>
    /// The length of the array that serves a request for <paramref name="length"/> floats: <paramref name="length"/>
    /// rounded up to 64 below 1024, and to a quarter of the power of two below it above (at most 25 % more).
    /// </summary>
    public static int SizeClass(int length)
    {
        if (length <= 1024) return length <= 0 ? 0 : (length + 63) & ~63;
        int exponent = 31 - int.LeadingZeroCount(length - 1);   // 2^exponent < length ≤ 2^(exponent+1)
        long step = 1L << (exponent - 2);
        long rounded = (length + step - 1) / step * step;
        return rounded > Array.MaxLength ? length : (int)rounded;
    }

    /// <summary>An array of at least <paramref name="length"/> floats (exactly <see cref="SizeClass"/>(length)): a returned one when there is one.</summary>
    /// <param name="length">Element count the caller needs.</param>
    /// <param name="zeroed">Clear the first <paramref name="length"/> elements; otherwise the caller overwrites every one it reads.</param>
    public float[] Rent(int length, bool zeroed)
    {
        int size = SizeClass(length);
        float[]? buffer = null;
        lock (_free)
        {
            if (_free.TryGetValue(size, out var list) && list.Arrays.TryPop(out buffer))
            {
                _freeBytes -= 4L * size;
                list.LastUsed = ++_clock;
            }
            _outBytes += 4L * size;
            _peakOutBytes = Math.Max(_peakOutBytes, _outBytes);
        }
        if (buffer is null)
            return zeroed ? new float[size] : GC.AllocateUninitializedArray<float>(size);
        if (zeroed) Array.Clear(buffer, 0, length);
        return buffer;
    }

    /// <summary>Takes back an array that nothing reads or writes any more; drops the least recently used classes when over the limit.</summary>
    public void Return(float[] buffer)
    {
        long bytes = 4L * buffer.Length;
        lock (_free)
        {
            _outBytes -= bytes;
            if (!_free.TryGetValue(buffer.Length, out var list))
                _free[buffer.Length] = list = new FreeList();
            list.Arrays.Push(buffer);
            list.LastUsed = ++_clock;
            _freeBytes += bytes;
            long limit = CurrentLimit();
            if (_freeBytes > limit) TrimTo(limit);
        }
    }

    /// <summary>
    /// Marks the end of a working set (a graph's backward pass has returned its arrays): its peak of bytes out of the
    /// pool raises <see cref="HighWaterBytes"/>, and counting starts again for the next one (arrays kept by the caller,
    /// such as a leaf's gradient, leave the count).
    /// </summary>
    public void EndWorkingSet()
    {
        lock (_free)
        {
            _highWaterBytes = Math.Max(_highWaterBytes, _peakOutBytes);
            _outBytes = 0;
            _peakOutBytes = 0;
            TrimTo(CurrentLimit());
        }
    }

    /// <summary>Drops free arrays, least recently used classes first, until at most <paramref name="bytes"/> stay.</summary>
    public void Trim(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_free) TrimTo(bytes);
    }

    /// <summary>Drops every free array (the garbage collector reclaims them) and forgets the high-water mark.</summary>
    public void Clear()
    {
        lock (_free)
        {
            _free.Clear();
            _freeBytes = 0;
            _highWaterBytes = 0;
            _peakOutBytes = Math.Max(0, _outBytes);
        }
    }

    private long CurrentLimit()
    {
        if (_explicitLimit is { } limit) return limit;
        long high = Math.Max(_highWaterBytes, 0);
        return high == 0 ? long.MaxValue : 2 * high;
    }

    private void TrimTo(long limit)
    {
        while (_freeBytes > limit)
        {
            int oldest = -1;
            long stamp = long.MaxValue;
            foreach (var (size, list) in _free)
                if (list.Arrays.Count > 0 && list.LastUsed < stamp) (oldest, stamp) = (size, list.LastUsed);
            if (oldest < 0) return;
            var victim = _free[oldest];
            while (_freeBytes > limit && victim.Arrays.TryPop(out var dropped)) _freeBytes -= 4L * dropped.Length;
            if (victim.Arrays.Count == 0) _free.Remove(oldest);
        }
    }

    private sealed class FreeList
    {
        public Stack<float[]> Arrays { get; } = new();

        public long LastUsed { get; set; }
    }
}
