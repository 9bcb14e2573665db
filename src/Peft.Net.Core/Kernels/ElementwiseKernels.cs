using System.Numerics.Tensors;

namespace Peft.Net.Core.Kernels;

/// <summary>Span kernels shared by autograd plumbing. Each SIMD path has a scalar reference beside it.</summary>
internal static unsafe class ElementwiseKernels
{
    [ThreadStatic] private static PairWork? t_pair;

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
        RunPairChunks(destination, source, copy: false);
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
        RunPairChunks(destination, source, copy: true);
    }

    // destination, source: (N), longer than one chunk
    /// <summary>destination += source, or = source when <paramref name="copy"/>, chunk by chunk over the pool's threads.</summary>
    private static void RunPairChunks(Span<float> destination, ReadOnlySpan<float> source, bool copy)
    {
        fixed (float* pDestination = destination, pSource = source)
        {
            var work = t_pair ??= new PairWork();
            work.Destination = pDestination;
            work.Source = pSource;
            work.Copy = copy;
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

    /// <summary>Floats [start, end) of <see cref="AddInPlace"/> or <see cref="Copy"/>.</summary>
    private sealed class PairWork : ChunkedWork
    {
        public float* Destination, Source;
        public bool Copy;

        protected override void Run(int start, int end)
        {
            var destination = new Span<float>(Destination + start, end - start);
            var source = new ReadOnlySpan<float>(Source + start, end - start);
            if (Copy) source.CopyTo(destination);
            else TensorPrimitives.Add(destination, source, destination);
        }
    }
}
