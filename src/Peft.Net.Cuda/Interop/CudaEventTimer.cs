namespace Peft.Net.Cuda.Interop;

/// <summary>GPU-side timing with CUDA events on the default stream (for benchmarks and the GPU tests).</summary>
internal static unsafe class CudaEventTimer
{
    /// <summary>Milliseconds of GPU time per call of <paramref name="enqueue"/>, averaged over <paramref name="iterations"/> back-to-back calls.</summary>
    public static double MillisecondsPerCall(CudaDevice device, Action enqueue, int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var api = device.Api;
        device.MakeCurrent();
        IntPtr start, stop;
        api.Check(api.EventCreate(&start, 0), "cuEventCreate");
        try
        {
            api.Check(api.EventCreate(&stop, 0), "cuEventCreate");
            try
            {
                api.Check(api.EventRecord(start, IntPtr.Zero), "cuEventRecord");
                for (int i = 0; i < iterations; i++)
                    enqueue();
                api.Check(api.EventRecord(stop, IntPtr.Zero), "cuEventRecord");
                api.Check(api.EventSynchronize(stop), "cuEventSynchronize");
                float ms;
                api.Check(api.EventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
                return ms / iterations;
            }
            finally
            {
                api.EventDestroy(stop);
            }
        }
        finally
        {
            api.EventDestroy(start);
        }
    }
}
