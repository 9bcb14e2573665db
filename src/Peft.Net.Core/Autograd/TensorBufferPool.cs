namespace Peft.Net.Core.Autograd;

/// <summary>
/// Free lists of float arrays keyed by exact length. A training step asks for the same sizes every time, so after
/// the first step every request is served from here and the step allocates nothing on the heap. Thread-safe.
/// </summary>
internal sealed class TensorBufferPool
{
    private readonly Dictionary<int, Stack<float[]>> _free = [];
    private long _freeBytes;

    /// <summary>Bytes held in the free lists (not lent out).</summary>
    public long FreeBytes
    {
        get { lock (_free) return _freeBytes; }
    }

    /// <summary>An array of exactly <paramref name="length"/> floats: a returned one when there is one.</summary>
    /// <param name="length">Element count.</param>
    /// <param name="zeroed">Clear it; otherwise its contents are arbitrary and the caller overwrites every element.</param>
    public float[] Rent(int length, bool zeroed)
    {
        float[]? buffer = null;
        lock (_free)
        {
            if (_free.TryGetValue(length, out var stack) && stack.TryPop(out buffer))
                _freeBytes -= 4L * length;
        }
        if (buffer is null)
            return zeroed ? new float[length] : GC.AllocateUninitializedArray<float>(length);
        if (zeroed) Array.Clear(buffer);
        return buffer;
    }

    /// <summary>Takes back an array that nothing reads or writes any more.</summary>
    public void Return(float[] buffer)
    {
        lock (_free)
        {
            if (!_free.TryGetValue(buffer.Length, out var stack))
                _free[buffer.Length] = stack = new Stack<float[]>();
            stack.Push(buffer);
            _freeBytes += 4L * buffer.Length;
        }
    }

    /// <summary>Drops every free array (the garbage collector reclaims them).</summary>
    public void Clear()
    {
        lock (_free)
        {
            _free.Clear();
            _freeBytes = 0;
        }
    }
}
