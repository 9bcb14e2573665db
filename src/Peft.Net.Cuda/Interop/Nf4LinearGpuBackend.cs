using System.Runtime.CompilerServices;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Interop;

/// <summary>
/// The <see cref="IQuantizedGemvBackend"/> behind <see cref="CudaNf4.UseForNf4Linear"/>: uploads each weight once
/// (cached per <see cref="QuantizedTensor"/>; the device copy is freed by its buffers' finalizers when the weight is
/// collected, or at once by <see cref="Release"/>), reuses one x and one y device buffer (grown when needed), and
/// declines (returns false) when no GPU is usable, the format is not supported or the weight does not fit.
/// Calls are serialised by one lock (the buffers are shared).
/// </summary>
internal sealed class Nf4LinearGpuBackend : IQuantizedGemvBackend
{
    private readonly Lock _lock = new();
    private DeviceState? _state;
    private long _calls;

    /// <summary>GEMVs run on the GPU so far.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    // y[N] = W[N, K] · x[K]
    public bool TryGemv(QuantizedTensor weight, ReadOnlySpan<float> x, Span<float> y)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int[] shape = weight.Shape;
        if (shape.Length != 2 || x.Length != shape[1] || y.Length != shape[0] || x.Length == 0)
            return false;
        var device = CudaDevice.TryGet(out _);
        if (device is null)
            return false;
        lock (_lock)
        {
            if (_state is null || _state.Device != device)
            {
                _state?.Dispose();
                _state = new DeviceState(device);
            }
            var gpuWeight = _state.WeightOf(weight);
            if (gpuWeight is null)
                return false;
            var xBuffer = _state.Input(x.Length);
            var yBuffer = _state.Output(y.Length);
            xBuffer.CopyFromHost(x);
            FourBitLaunches.EnqueueGemv(device, gpuWeight, shape[0], shape[1], xBuffer, yBuffer);
            device.Synchronize(KernelNames.Gemv(gpuWeight.IsDoubleQuantized));
            yBuffer.CopyToHost(y[..shape[0]]);
        }
        Interlocked.Increment(ref _calls);
        return true;
    }

    /// <summary>Frees every cached weight and buffer now.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _state?.Dispose();
            _state = null;
        }
    }

    private sealed class DeviceState(CudaDevice device) : IDisposable
    {
        // Value null: the weight cannot run on this device (format or memory); it stays on the CPU.
        private readonly ConditionalWeakTable<QuantizedTensor, Entry> _weights = new();
        private CudaBuffer? _input, _output;

        public CudaDevice Device { get; } = device;

        public CudaQuantizedTensor? WeightOf(QuantizedTensor weight)
        {
            if (_weights.TryGetValue(weight, out var entry))
                return entry.Gpu;
            CudaQuantizedTensor? gpu;
            try
            {
                gpu = CudaQuantizedTensor.Upload(weight);
            }
            catch (ArgumentException)
            {
                gpu = null; // blocksize outside the kernels' range
            }
            catch (CudaException e) when (e.ErrorName == "CUDA_ERROR_OUT_OF_MEMORY")
            {
                gpu = null; // the model does not fit: this layer stays on the CPU
            }
            _weights.AddOrUpdate(weight, new Entry(gpu));
            return gpu;
        }

        public CudaBuffer Input(int floats) => Grow(ref _input, floats);

        public CudaBuffer Output(int floats) => Grow(ref _output, floats);

        private static CudaBuffer Grow(ref CudaBuffer? buffer, int floats)
        {
            long bytes = (long)floats * sizeof(float);
            if (buffer is not null && buffer.SizeInBytes >= bytes)
                return buffer;
            buffer?.Dispose();
            buffer = null;
            buffer = CudaBuffer.Allocate(bytes);
            return buffer;
        }

        public void Dispose()
        {
            foreach (var pair in _weights)
                pair.Value.Gpu?.Dispose();
            _weights.Clear();
            _input?.Dispose();
            _output?.Dispose();
            _input = _output = null;
        }
    }

    private sealed record Entry(CudaQuantizedTensor? Gpu);
}
