namespace Peft.Net.Core.Kernels;

internal static unsafe partial class SiluMulKernels
{
    [ThreadStatic] private static ForwardWork? t_forward;
    [ThreadStatic] private static BackwardWork? t_backward;

    /// <summary>Forward over floats [start, end) of operands pinned by <see cref="Forward"/>.</summary>
    private sealed class ForwardWork : ChunkedWork
    {
        public float* Gate, Up, Y;

        protected override void Run(int start, int end) =>
            ForwardChunk(new ReadOnlySpan<float>(Gate + start, end - start), new ReadOnlySpan<float>(Up + start, end - start),
                new Span<float>(Y + start, end - start));
    }

    /// <summary>Backward over floats [start, end); a null gradient pointer is not computed; Overwrite stores instead of adding.</summary>
    private sealed class BackwardWork : ChunkedWork
    {
        public float* G, Gate, Up, DGate, DUp;
        public bool Overwrite;

        protected override void Run(int start, int end)
        {
            int n = end - start;
            BackwardChunk(new ReadOnlySpan<float>(G + start, n), new ReadOnlySpan<float>(Gate + start, n),
                new ReadOnlySpan<float>(Up + start, n),
                DGate == null ? default : new Span<float>(DGate + start, n), DUp == null ? default : new Span<float>(DUp + start, n), Overwrite);
        }
    }
}
