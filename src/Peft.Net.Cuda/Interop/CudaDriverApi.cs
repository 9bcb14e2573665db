using System.Runtime.InteropServices;

namespace Peft.Net.Cuda.Interop;

/// <summary>
/// The CUDA driver API functions Peft.Net.Cuda uses, resolved at run time from <c>libcuda.so.1</c> (Linux) or
/// <c>nvcuda.dll</c> (Windows) with <see cref="NativeLibrary"/>: a missing library or export becomes a reason
/// string, never a <see cref="DllNotFoundException"/> or <see cref="EntryPointNotFoundException"/>.
/// Handles are <see cref="IntPtr"/>; device pointers (<c>CUdeviceptr</c>) are <see cref="ulong"/>; every function
/// returns a <c>CUresult</c> (0 = success).
/// </summary>
internal sealed unsafe class CudaDriverApi
{
    internal const int CuDeviceAttributeComputeCapabilityMajor = 75;
    internal const int CuDeviceAttributeComputeCapabilityMinor = 76;
    internal const int CuJitErrorLogBuffer = 5;
    internal const int CuJitErrorLogBufferSizeBytes = 6;

    public delegate* unmanaged<uint, int> Init;
    public delegate* unmanaged<int*, int> DriverGetVersion;
    public delegate* unmanaged<int*, int> DeviceGetCount;
    public delegate* unmanaged<int*, int, int> DeviceGet;
    public delegate* unmanaged<byte*, int, int, int> DeviceGetName;
    public delegate* unmanaged<int*, int, int, int> DeviceGetAttribute;
    public delegate* unmanaged<IntPtr*, int, int> DevicePrimaryCtxRetain;
    public delegate* unmanaged<IntPtr, int> CtxSetCurrent;
    public delegate* unmanaged<int> CtxSynchronize;
    public delegate* unmanaged<IntPtr*, byte*, uint, int*, IntPtr*, int> ModuleLoadDataEx;
    public delegate* unmanaged<IntPtr*, IntPtr, byte*, int> ModuleGetFunction;
    public delegate* unmanaged<ulong*, nuint, int> MemAlloc;
    public delegate* unmanaged<ulong, int> MemFree;
    public delegate* unmanaged<ulong, void*, nuint, int> MemcpyHtoD;
    public delegate* unmanaged<void*, ulong, nuint, int> MemcpyDtoH;
    public delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int> LaunchKernel;
    public delegate* unmanaged<int, byte**, int> GetErrorName;
    public delegate* unmanaged<int, byte**, int> GetErrorString;
    public delegate* unmanaged<IntPtr*, uint, int> EventCreate;
    public delegate* unmanaged<IntPtr, IntPtr, int> EventRecord;
    public delegate* unmanaged<IntPtr, int> EventSynchronize;
    public delegate* unmanaged<float*, IntPtr, IntPtr, int> EventElapsedTime;
    public delegate* unmanaged<IntPtr, int> EventDestroy;

    private CudaDriverApi(string libraryName) => LibraryName = libraryName;

    /// <summary>The library file the functions came from.</summary>
    public string LibraryName { get; }

    /// <summary>
    /// Every driver export this class resolves, with the ABI names of <c>cuda.h</c> (<c>cuMemAlloc</c> is
    /// <c>#define</c>d to <c>cuMemAlloc_v2</c>, …). Resolving any other name is a programming error.
    /// </summary>
    public static readonly IReadOnlyList<string> Exports =
    [
        "cuInit", "cuDriverGetVersion", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName", "cuDeviceGetAttribute",
        "cuDevicePrimaryCtxRetain", "cuCtxSetCurrent", "cuCtxSynchronize", "cuModuleLoadDataEx", "cuModuleGetFunction",
        "cuMemAlloc_v2", "cuMemFree_v2", "cuMemcpyHtoD_v2", "cuMemcpyDtoH_v2", "cuLaunchKernel", "cuGetErrorName",
        "cuGetErrorString", "cuEventCreate", "cuEventRecord", "cuEventSynchronize", "cuEventElapsedTime", "cuEventDestroy_v2",
    ];

    /// <summary>The driver library names tried on this operating system, in order.</summary>
    public static string[] DefaultLibraryNames() =>
        OperatingSystem.IsWindows() ? ["nvcuda.dll"]
        : OperatingSystem.IsLinux() ? ["libcuda.so.1", "libcuda.so"]
        : [];

    /// <summary>
    /// Loads the first library of <paramref name="libraryNames"/> that exists and resolves every function.
    /// Returns null with <paramref name="failure"/> set when none loads or an export is missing.
    /// </summary>
    public static CudaDriverApi? TryLoad(IReadOnlyList<string> libraryNames, out string failure)
    {
        if (!Environment.Is64BitProcess)
        {
            failure = "Peft.Net.Cuda needs a 64-bit process.";
            return null;
        }
        if (libraryNames.Count == 0)
        {
            failure = $"there is no NVIDIA CUDA driver for {RuntimeInformation.OSDescription}.";
            return null;
        }
        foreach (string name in libraryNames)
        {
            if (!NativeLibrary.TryLoad(name, out IntPtr handle))
                continue;
            var api = new CudaDriverApi(name);
            string? missing = api.Resolve(handle);
            if (missing is null)
            {
                failure = "";
                return api;
            }
            NativeLibrary.Free(handle);
            failure = $"the CUDA driver library {name} lacks the function {missing} (driver too old or not a CUDA driver).";
            return null;
        }
        failure = $"the NVIDIA driver library ({string.Join(" or ", libraryNames)}) was not found; "
                + "install the NVIDIA driver (the CUDA toolkit is not needed).";
        return null;
    }

    // Returns the name of the first missing export, or null when all resolved.
    private string? Resolve(IntPtr lib)
    {
        string? missing = null;
        IntPtr Get(string export)
        {
            if (!Exports.Contains(export))
                throw new InvalidOperationException($"CudaDriverApi resolves '{export}', which is missing from CudaDriverApi.Exports.");
            if (NativeLibrary.TryGetExport(lib, export, out IntPtr address))
                return address;
            missing ??= export;
            return IntPtr.Zero;
        }

        Init = (delegate* unmanaged<uint, int>)Get("cuInit");
        DriverGetVersion = (delegate* unmanaged<int*, int>)Get("cuDriverGetVersion");
        DeviceGetCount = (delegate* unmanaged<int*, int>)Get("cuDeviceGetCount");
        DeviceGet = (delegate* unmanaged<int*, int, int>)Get("cuDeviceGet");
        DeviceGetName = (delegate* unmanaged<byte*, int, int, int>)Get("cuDeviceGetName");
        DeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)Get("cuDeviceGetAttribute");
        DevicePrimaryCtxRetain = (delegate* unmanaged<IntPtr*, int, int>)Get("cuDevicePrimaryCtxRetain");
        CtxSetCurrent = (delegate* unmanaged<IntPtr, int>)Get("cuCtxSetCurrent");
        CtxSynchronize = (delegate* unmanaged<int>)Get("cuCtxSynchronize");
        ModuleLoadDataEx = (delegate* unmanaged<IntPtr*, byte*, uint, int*, IntPtr*, int>)Get("cuModuleLoadDataEx");
        ModuleGetFunction = (delegate* unmanaged<IntPtr*, IntPtr, byte*, int>)Get("cuModuleGetFunction");
        MemAlloc = (delegate* unmanaged<ulong*, nuint, int>)Get("cuMemAlloc_v2");
        MemFree = (delegate* unmanaged<ulong, int>)Get("cuMemFree_v2");
        MemcpyHtoD = (delegate* unmanaged<ulong, void*, nuint, int>)Get("cuMemcpyHtoD_v2");
        MemcpyDtoH = (delegate* unmanaged<void*, ulong, nuint, int>)Get("cuMemcpyDtoH_v2");
        LaunchKernel = (delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int>)Get("cuLaunchKernel");
        GetErrorName = (delegate* unmanaged<int, byte**, int>)Get("cuGetErrorName");
        GetErrorString = (delegate* unmanaged<int, byte**, int>)Get("cuGetErrorString");
        EventCreate = (delegate* unmanaged<IntPtr*, uint, int>)Get("cuEventCreate");
        EventRecord = (delegate* unmanaged<IntPtr, IntPtr, int>)Get("cuEventRecord");
        EventSynchronize = (delegate* unmanaged<IntPtr, int>)Get("cuEventSynchronize");
        EventElapsedTime = (delegate* unmanaged<float*, IntPtr, IntPtr, int>)Get("cuEventElapsedTime");
        EventDestroy = (delegate* unmanaged<IntPtr, int>)Get("cuEventDestroy_v2");
        return missing;
    }

    /// <summary>Throws <see cref="CudaException"/> naming the error when <paramref name="result"/> is not success.</summary>
    public void Check(int result, string operation, string? detail = null)
    {
        if (result != 0)
            throw new CudaException(operation, result, ErrorName(result), ErrorDescription(result), detail);
    }

    /// <summary>The driver's name for a <c>CUresult</c> (e.g. <c>CUDA_ERROR_NO_DEVICE</c>).</summary>
    public string ErrorName(int result)
    {
        byte* text = null;
        return GetErrorName(result, &text) == 0 && text != null ? Marshal.PtrToStringUTF8((IntPtr)text) ?? "" : $"CUresult {result}";
    }

    /// <summary>The driver's description of a <c>CUresult</c>.</summary>
    public string ErrorDescription(int result)
    {
        byte* text = null;
        return GetErrorString(result, &text) == 0 && text != null ? Marshal.PtrToStringUTF8((IntPtr)text) ?? "" : "unknown error";
    }
}
