using System.Runtime.InteropServices;
using System.Text;

namespace Peft.Net.Cuda.Interop;

/// <summary>
/// The process-wide CUDA device 0: driver loaded, <c>cuInit</c> done, primary context retained, every embedded PTX
/// module JIT-compiled and its kernels resolved. Created once, on first use; a failure is remembered as the reason
/// CUDA is unavailable (<see cref="CudaUnavailableException"/>).
/// </summary>
internal sealed unsafe class CudaDevice
{
    private static readonly Lazy<(CudaDevice? Device, string Failure)> s_device = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Dictionary<string, IntPtr> _functions = new(StringComparer.Ordinal);

    private CudaDevice(CudaDriverApi api, int ordinal)
    {
        Api = api;
        Ordinal = ordinal;
    }

    public CudaDriverApi Api { get; }
    public int Ordinal { get; }
    public IntPtr Context { get; private set; }
    public string Name { get; private set; } = "";
    public int ComputeCapability { get; private set; }
    public int DriverVersion { get; private set; }
    public int PtxArchitecture { get; private set; }

    /// <summary>A one-line description: name, compute capability, driver version, PTX architecture loaded.</summary>
    public string Description =>
        $"{Name} (compute capability {ComputeCapability / 10}.{ComputeCapability % 10}, driver API {DriverVersion / 1000}.{DriverVersion % 1000 / 10}, "
        + $"kernels JIT-compiled from compute_{PtxArchitecture} PTX)";

    private static CudaDevice? s_substitute;

    /// <summary>The device, or null with the reason it is unavailable. Never throws.</summary>
    public static CudaDevice? TryGet(out string failure)
    {
        if (Volatile.Read(ref s_substitute) is { } substitute)
        {
            failure = "";
            return substitute;
        }
        var (device, reason) = s_device.Value;
        failure = reason;
        return device;
    }

    /// <summary>The device with its context current on this thread; <see cref="CudaUnavailableException"/> without one.</summary>
    public static CudaDevice Require()
    {
        var device = TryGet(out string failure) ?? throw new CudaUnavailableException(failure);
        device.MakeCurrent();
        return device;
    }

    /// <summary>
    /// Tests only: routes every public entry point to <paramref name="device"/> (e.g. one initialised on the fake
    /// driver of kernels/host/fake_cuda_driver.cpp) until the returned scope is disposed.
    /// </summary>
    internal static IDisposable Substitute(CudaDevice device)
    {
        if (Interlocked.CompareExchange(ref s_substitute, device, null) is not null)
            throw new InvalidOperationException("A substitute CUDA device is already in use.");
        return new SubstituteScope();
    }

    private sealed class SubstituteScope : IDisposable
    {
        public void Dispose() => Volatile.Write(ref s_substitute, null);
    }

    public void MakeCurrent() => Api.Check(Api.CtxSetCurrent(Context), "cuCtxSetCurrent");

    public IntPtr Function(string name) =>
        _functions.TryGetValue(name, out IntPtr f) ? f : throw new InvalidOperationException($"Kernel {name} is not in the embedded PTX.");

    /// <summary>Launches a 1-D grid on <paramref name="stream"/> (0: the default stream); asynchronous, errors of the run surface at the next sync.</summary>
    public void Launch(string kernel, long gridBlocks, int blockThreads, void** args, IntPtr stream = default)
    {
        if (gridBlocks <= 0)
            return;
        if (gridBlocks > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(gridBlocks), $"{kernel}: {gridBlocks} thread blocks exceed the grid limit.");
        Api.Check(Api.LaunchKernel(Function(kernel), (uint)gridBlocks, 1, 1, (uint)blockThreads, 1, 1, 0, stream, args, null),
            "cuLaunchKernel", kernel);
    }

    /// <summary>Waits for all queued work; a kernel fault surfaces here as <see cref="CudaException"/>.</summary>
    public void Synchronize(string after) => Api.Check(Api.CtxSynchronize(), "cuCtxSynchronize", $"after {after}");

    private static (CudaDevice?, string) Create()
    {
        try
        {
            var api = CudaDriverApi.TryLoad(CudaDriverApi.DefaultLibraryNames(), out string failure);
            if (api is null)
                return (null, failure);
            return Initialise(api);
        }
        catch (Exception e)
        {
            // IsAvailable must never throw: any failure while probing the driver is a reason, not an exception.
            return (null, e is CudaException ? e.Message : $"initialising the CUDA driver failed: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Initialises device 0 of <paramref name="api"/>; returns the reason when it cannot be used.</summary>
    internal static (CudaDevice?, string) Initialise(CudaDriverApi api)
    {
        int result = api.Init(0);
        if (result != 0)
            return (null, $"cuInit failed with {api.ErrorName(result)}: {api.ErrorDescription(result)} (is an NVIDIA GPU present and its driver loaded?)");
        int count;
        api.Check(api.DeviceGetCount(&count), "cuDeviceGetCount");
        if (count == 0)
            return (null, "the NVIDIA driver reports no CUDA GPU.");

        int ordinal;
        api.Check(api.DeviceGet(&ordinal, 0), "cuDeviceGet");
        var device = new CudaDevice(api, ordinal);
        int major, minor, version;
        api.Check(api.DeviceGetAttribute(&major, CudaDriverApi.CuDeviceAttributeComputeCapabilityMajor, ordinal), "cuDeviceGetAttribute");
        api.Check(api.DeviceGetAttribute(&minor, CudaDriverApi.CuDeviceAttributeComputeCapabilityMinor, ordinal), "cuDeviceGetAttribute");
        api.Check(api.DriverGetVersion(&version), "cuDriverGetVersion");
        byte* name = stackalloc byte[256];
        api.Check(api.DeviceGetName(name, 256, ordinal), "cuDeviceGetName");
        device.Name = Marshal.PtrToStringUTF8((IntPtr)name) ?? "CUDA device";
        device.ComputeCapability = major * 10 + minor;
        device.DriverVersion = version;

        var modules = PtxCatalog.Modules;
        if (modules.Count == 0)
            return (null, "no PTX is embedded in Peft.Net.Cuda (build error).");
        IEnumerable<int> everyModuleHas = modules.Values.Aggregate((a, b) => a.Intersect(b).ToArray());
        int? arch = PtxCatalog.SelectArchitecture(device.ComputeCapability, everyModuleHas);
        if (arch is null)
            return (null, $"{device.Name} has compute capability {major}.{minor}; the Peft.Net.Cuda kernels need 7.0 (Volta) or newer.");
        device.PtxArchitecture = arch.Value;

        IntPtr context;
        api.Check(api.DevicePrimaryCtxRetain(&context, ordinal), "cuDevicePrimaryCtxRetain");
        device.Context = context;
        device.MakeCurrent();
        foreach (string module in modules.Keys)
        {
            string? jitFailure = device.LoadModule(module, arch.Value);
            if (jitFailure is not null)
                return (null, jitFailure);
        }
        return (device, "");
    }

    // JIT-compiles one module and resolves its kernels; returns the reason on failure.
    private string? LoadModule(string module, int arch)
    {
        byte[] ptx = PtxCatalog.LoadPtx(module, arch);
        const int logSize = 16 * 1024;
        byte* log = stackalloc byte[logSize];
        int* options = stackalloc int[] { CudaDriverApi.CuJitErrorLogBuffer, CudaDriverApi.CuJitErrorLogBufferSizeBytes };
        IntPtr* values = stackalloc IntPtr[] { (IntPtr)log, logSize };
        IntPtr handle;
        int result;
        fixed (byte* image = ptx)
            result = Api.ModuleLoadDataEx(&handle, image, 2, options, values);
        if (result != 0)
        {
            string jitLog = Marshal.PtrToStringUTF8((IntPtr)log) ?? "";
            return $"the driver could not JIT-compile the {module} kernels (compute_{arch} PTX, PTX ISA of CUDA 11.8) on {Name}: "
                 + $"{Api.ErrorName(result)}: {Api.ErrorDescription(result)}"
                 + (result == 222 ? " — update the NVIDIA driver (R520 or newer)." : "")
                 + (jitLog.Length > 0 ? $" JIT log: {jitLog}" : "");
        }
        foreach (string kernel in KernelNames.InModule(module))
        {
            IntPtr function;
            byte[] ascii = Encoding.ASCII.GetBytes(kernel + "\0");
            fixed (byte* k = ascii)
                Api.Check(Api.ModuleGetFunction(&function, handle, k), "cuModuleGetFunction", kernel);
            _functions[kernel] = function;
        }
        return null;
    }
}
