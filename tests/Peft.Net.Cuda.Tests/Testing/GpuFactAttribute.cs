namespace Peft.Net.Cuda.Tests.Testing;

/// <summary>A fact that needs a CUDA GPU: skipped, with the reason shown, when <see cref="CudaNf4.IsAvailable"/> is false.</summary>
public sealed class GpuFactAttribute : FactAttribute
{
    public GpuFactAttribute()
    {
        if (!CudaNf4.IsAvailable)
            Skip = $"No CUDA GPU: {CudaNf4.UnavailableReason}";
    }
}

/// <summary>A fact about behaviour without a GPU: skipped when a GPU is present (the GPU tests cover that machine).</summary>
public sealed class NoGpuFactAttribute : FactAttribute
{
    public NoGpuFactAttribute()
    {
        if (CudaNf4.IsAvailable)
            Skip = "A CUDA GPU is present; this test checks the behaviour without one.";
    }
}
