using System.Numerics.Tensors;

namespace Peft.Net.Core.Kernels;

/// <summary>Span kernels shared by autograd plumbing. Each SIMD path has a scalar reference beside it.</summary>
internal static unsafe class ElementwiseKernels
{
    [ThreadStatic] private static AddWork? t_add;
    [ThreadStatic] private static CopyWork? t_copy;

    // destination, source: (N)
    /// <summary>destination[i] += source[i], in parallel chunks of <see cref="ChunkedWork.FloatsPerChunk"/> floats.</summary>
    public static void AddInPlace(Span<float> destination, ReadOnlySpan<float> source)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"AddInPlace: the source has {source.Length} floats, the destination {destination.Length}.", nameof(source));
        if (destination.Length <= ChunkedWork.FloatsPerChunk)
        {
            TensorPrimitives.Add(destination, source, destination);
            return;
        }
        fixed (float* pDestination = destination, pSource = source)
        {
            var work = t_add ??= new AddWork();
            work.Destination = pDestination;
            work.Source = pSource;
            work.RunChunks(destination.Length, ChunkedWork.FloatsPerChunk);
        }
    }

    // source, destination: (N)
    /// <summary>
    /// destination = source, in chunks over the pool's threads when it is longer than one chunk (a gradient handed to a
    /// tensor that keeps its own copy: a serial copy of megabytes leaves the other cores idle).
    /// </summary>
    public static void Copy(ReadOnlySpan<float> source, Span<float> destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"Copy: the source has {source.Length} floats, the destination {destination.Length}.", nameof(source));
        if (destination.Length <= ChunkedWork.FloatsPerChunk)
        {
            source.CopyTo(destination);
            return;
        }
        fixed (float* pDestination = destination, pSource = source)
        {
            var work = t_copy ??= new CopyWork();
            work.Destination = pDestination;
            work.Source = pSource;
            work.RunChunks(destination.Length, ChunkedWork.FloatsPerChunk);
        }
    }

    // source: (rows, cols) rows lds apart → destination: (rows, cols) rows ldd apart
    /// <summary>
    /// destination (+)= source for a block of rows: each row copied, or added with <see cref="AddInPlace"/> when
    /// <paramref name="accumulate"/> (a GEMM's edge tile, or partial sums kept aside, written into C).
    /// </summary>
    public static void StoreRows(float* source, nint lds, float* destination, nint ldd, int rows, int cols, bool accumulate)
    {
        for (int r = 0; r < rows; r++)
        {
            var from = new ReadOnlySpan<float>(source + r * lds, cols);
            var to = new Span<float>(destination + r * ldd, cols);
            if (accumulate) AddInPlace(to, from);
            else from.CopyTo(to);
        }
    }

    /// <summary>Scalar reference of <see cref="AddInPlace"/>.</summary>
    public static void AddInPlaceReference(Span<float> destination, ReadOnlySpan<float> source)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException("Lengths differ.", nameof(source));
        for (int i = 0; i < destination.Length; i++) destination[i] += source[i];
    }

    /// <summary>Floats [start, end) of <see cref="AddInPlace"/>.</summary>
    private sealed class AddWork : ChunkedWork
    {
        public float* Destination, Source;

        protected override void Run(int start, int end)
        {
            var destination = new Span<float>(Destination + start, end - start);
            TensorPrimitives.Add(destination, new ReadOnlySpan<float>(Source + start, end - start), destination);
        }
    }

    /// <summary>Floats [start, end) of <see cref="Copy"/>.</summary>
    private sealed class CopyWork : ChunkedWork
    {
        public float* Destination, Source;

        protected override void Run(int start, int end) =>
            new ReadOnlySpan<float>(Source + start, end - start).CopyTo(new Span<float>(Destination + start, end - start));
    }
}
