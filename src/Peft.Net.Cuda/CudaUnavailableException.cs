namespace Peft.Net.Cuda;

/// <summary>
/// The CUDA kernels cannot run on this machine: no NVIDIA driver (<c>libcuda.so.1</c> / <c>nvcuda.dll</c>), no GPU,
/// a GPU older than compute capability 7.0, or a driver that failed to initialise. <see cref="Exception.Message"/>
/// says which. Check <see cref="CudaNf4.IsAvailable"/> first to choose the CPU path instead.
/// </summary>
public sealed class CudaUnavailableException : Exception
{
    /// <summary>Creates the exception with the reason CUDA is unavailable.</summary>
    public CudaUnavailableException(string reason)
        : base($"CUDA is not available: {reason}")
    {
        Reason = reason;
    }

    /// <summary>Why CUDA is unavailable, without the common prefix.</summary>
    public string Reason { get; }
}
