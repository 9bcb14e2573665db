namespace Peft.Net.Quantization;

/// <summary>
/// An accelerator for the batch-1 product of a 4-bit weight and one input row (generation's decode step), plugged into
/// <see cref="Nf4Linear"/> through <see cref="Nf4Linear.GemvBackend"/> (e.g. by <c>Peft.Net.Cuda.CudaNf4.UseForNf4Linear()</c>).
/// </summary>
public interface IQuantizedGemvBackend
{
    /// <summary>
    /// y[N] = W[N, K] · x[K]. Returns false, without touching <paramref name="y"/> in a way the caller relies on, when
    /// the backend cannot run it now (no device, unsupported format, out of device memory): the caller then uses the CPU.
    /// Must be safe to call from several threads.
    /// </summary>
    /// <param name="weight">W [N, K], a linear layer's [out, in].</param>
    /// <param name="x">x [K].</param>
    /// <param name="y">y [N], overwritten on success.</param>
    bool TryGemv(QuantizedTensor weight, ReadOnlySpan<float> x, Span<float> y);
}
