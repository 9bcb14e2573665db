using Peft.Net.Core;

namespace Peft.Net.Quantization;

// Batch-1 decode steps (one input row, no gradient to record for the input) go to a registered GEMV backend, e.g. the
// CUDA one; everything else, and any call the backend declines, runs the CPU GEMM of Ops.Linear.
public sealed partial class Nf4Linear
{
    private static IQuantizedGemvBackend? s_gemvBackend;

    /// <summary>
    /// The backend every <see cref="Nf4Linear"/> asks first for a forward pass over exactly one input row
    /// (x [K], [1, K], [1, 1, K], …) when no gradient has to flow to the input (under <see cref="Tensor.NoGrad"/>, or
    /// the input does not require one); null (the default) keeps everything on the CPU. Thread-safe to read and set.
    /// </summary>
    public static IQuantizedGemvBackend? GemvBackend
    {
        get => Volatile.Read(ref s_gemvBackend);
        set => Volatile.Write(ref s_gemvBackend, value);
    }

    /// <summary>
    /// Atomically replaces <see cref="GemvBackend"/> with <paramref name="value"/> when it is <paramref name="comparand"/>;
    /// returns the backend that was registered before the call.
    /// </summary>
    public static IQuantizedGemvBackend? CompareExchangeGemvBackend(IQuantizedGemvBackend? value, IQuantizedGemvBackend? comparand) =>
        Interlocked.CompareExchange(ref s_gemvBackend, value, comparand);

    // x: (..., K) with one row → (..., N), or null when the CPU GEMM must run.
    private Tensor? TryForwardOnBackend(Tensor input)
    {
        var backend = GemvBackend;
        if (backend is null || input.DType != DType.F32 || input.Rank < 1 || InFeatures == 0
            || input.Dim(-1) != InFeatures || input.Count != InFeatures
            || (input.RequiresGrad && Tensor.IsGradEnabled))
            return null;
        var shape = input.ShapeArray();
        shape[^1] = OutFeatures;
        var y = Tensor.Zeros(shape);
        if (!backend.TryGemv(Weight, input.AsSpan(), y.AsSpan()))
            return null;
        var bias = Bias;
        return bias is null ? y : Ops.Add(y, bias);
    }
}
