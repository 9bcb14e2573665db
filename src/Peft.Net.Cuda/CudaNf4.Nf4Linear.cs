using Peft.Net.Cuda.Interop;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda;

public static partial class CudaNf4
{
    private static readonly Nf4LinearGpuBackend s_nf4LinearBackend = new();

    /// <summary>
    /// Makes every <see cref="Nf4Linear"/> run batch-1 forward passes (one input row, no input gradient to record:
    /// generation's decode steps under <c>Tensor.NoGrad()</c>) on the GPU with the fused 4-bit GEMV, by registering a
    /// backend in <see cref="Nf4Linear.GemvBackend"/>. Each weight is uploaded on its first use and kept on the GPU
    /// until the weight is garbage-collected or <see cref="StopUsingForNf4Linear"/> is called. Returns
    /// <see cref="IsAvailable"/>: without a usable GPU nothing is registered and everything stays on the CPU.
    /// Never throws for a missing GPU or driver.
    /// </summary>
    public static bool UseForNf4Linear()
    {
        if (!IsAvailable)
            return false;
        Nf4Linear.GemvBackend = s_nf4LinearBackend;
        return true;
    }

    /// <summary>
    /// Unregisters the backend of <see cref="UseForNf4Linear"/> (when it is the one registered) and frees the weights
    /// and buffers it keeps on the GPU. Safe to call at any time, also without a GPU.
    /// </summary>
    public static void StopUsingForNf4Linear()
    {
        Nf4Linear.CompareExchangeGemvBackend(null, s_nf4LinearBackend);
        s_nf4LinearBackend.Release();
    }

    /// <summary>True while <see cref="UseForNf4Linear"/>'s backend is the registered <see cref="Nf4Linear.GemvBackend"/>.</summary>
    public static bool IsUsedForNf4Linear => ReferenceEquals(Nf4Linear.GemvBackend, s_nf4LinearBackend);

    /// <summary>How many <see cref="Nf4Linear"/> forward passes have run on the GPU in this process (a diagnostic).</summary>
    public static long Nf4LinearGpuCalls => s_nf4LinearBackend.Calls;
}
