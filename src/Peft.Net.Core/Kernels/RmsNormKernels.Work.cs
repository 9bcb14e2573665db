using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

internal static unsafe partial class RmsNormKernels
{
    /// <summary>Rows [start, end) of <see cref="Forward{TVector}"/>, on operands pinned by the caller.</summary>
    private sealed class ForwardWork<TVector> : ChunkedWork where TVector : struct, IFloatVector<TVector>
    {
        [ThreadStatic] public static ForwardWork<TVector>? Cached;

        public float* Y, Rstd, X, Weight;
        public int Rows, Channels;
        public float Eps;

        protected override void Run(int start, int end)
        {
            int count = Rows * Channels;
            ForwardRows<TVector>(new Span<float>(Y, count), new Span<float>(Rstd, Rows), new ReadOnlySpan<float>(X, count),
                new ReadOnlySpan<float>(Weight, Channels), Channels, Eps, start, end);
        }
    }

    /// <summary>Rows [start, end) of <see cref="AddForward{TVector}"/>, on operands pinned by the caller.</summary>
    private sealed class AddForwardWork<TVector> : ChunkedWork where TVector : struct, IFloatVector<TVector>
    {
        [ThreadStatic] public static AddForwardWork<TVector>? Cached;

        public float* Sum, Y, Rstd, Residual, X, Weight;
        public int Rows, Channels;
        public float Eps;

        protected override void Run(int start, int end)
        {
            int count = Rows * Channels;
            AddForwardRows<TVector>(new Span<float>(Sum, count), new Span<float>(Y, count), new Span<float>(Rstd, Rows),
                new ReadOnlySpan<float>(Residual, count), new ReadOnlySpan<float>(X, count), new ReadOnlySpan<float>(Weight, Channels),
                Channels, Eps, start, end);
        }
    }

    /// <summary>
    /// <see cref="Backward{TVector}"/>: rows [start, end) of dx, or (in the <see cref="WeightPass"/>) channels
    /// [start, end) of dweight.
    /// </summary>
    private sealed class BackwardWork<TVector> : ChunkedWork where TVector : struct, IFloatVector<TVector>
    {
        [ThreadStatic] public static BackwardWork<TVector>? Cached;

        public float* Dx, Dweight, Dy, X, Weight, Rstd;
        public int Rows, Channels;
        public bool WeightPass, OverwriteDx;

        protected override void Run(int start, int end)
        {
            int count = Rows * Channels;
            if (WeightPass)
                WeightGradientChannels<TVector>(new Span<float>(Dweight, Channels), new ReadOnlySpan<float>(Dy, count),
                    new ReadOnlySpan<float>(X, count), new ReadOnlySpan<float>(Rstd, Rows), Rows, Channels, start, end);
            else
                InputGradientRows<TVector>(new Span<float>(Dx, count), new ReadOnlySpan<float>(Dy, count), new ReadOnlySpan<float>(X, count),
                    new ReadOnlySpan<float>(Weight, Channels), new ReadOnlySpan<float>(Rstd, Rows), Channels, start, end, OverwriteDx);
        }
    }
}
