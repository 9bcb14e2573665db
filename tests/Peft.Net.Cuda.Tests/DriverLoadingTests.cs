using Peft.Net.Cuda.Interop;

namespace Peft.Net.Cuda.Tests;

/// <summary>Loading the driver turns every failure into a reason string, never a loader exception.</summary>
public sealed class DriverLoadingTests
{
    [Fact]
    public void MissingLibraryGivesReasonNotDllNotFound()
    {
        var api = CudaDriverApi.TryLoad(["libpeft-no-such-cuda-driver.so.1", "peft-no-such-driver.dll"], out string failure);
        Assert.Null(api);
        Assert.Contains("libpeft-no-such-cuda-driver.so.1", failure);
        Assert.Contains("install the NVIDIA driver", failure);
    }

    [Fact]
    public void LibraryWithoutCudaExportsGivesReasonNotEntryPointNotFound()
    {
        // A real library that is not a CUDA driver: every export lookup fails.
        string library = OperatingSystem.IsWindows() ? "kernel32.dll" : OperatingSystem.IsMacOS() ? "libSystem.dylib" : "libc.so.6";
        var api = CudaDriverApi.TryLoad([library], out string failure);
        Assert.Null(api);
        Assert.Contains($"{library} lacks the function cuInit", failure);
    }

    [Fact]
    public void NoCandidateLibrariesGivesReason()
    {
        Assert.Null(CudaDriverApi.TryLoad([], out string failure));
        Assert.Contains("no NVIDIA CUDA driver", failure);
    }

    [Fact]
    public void EveryExportResolvesFromAnInstalledDriver()
    {
        // Checks the export names (cuMemAlloc_v2, cuEventDestroy_v2, …) against a real driver where one is installed
        // (Debian's nvidia-cuda-toolkit pulls in libcuda1, even on machines without a GPU).
        string[] names = CudaDriverApi.DefaultLibraryNames();
        if (names.Length == 0 || !System.Runtime.InteropServices.NativeLibrary.TryLoad(names[0], out IntPtr handle))
        {
            Assert.Null(CudaDriverApi.TryLoad(names, out string failure));
            Assert.NotEmpty(failure);
            return;
        }
        System.Runtime.InteropServices.NativeLibrary.Free(handle);
        var api = CudaDriverApi.TryLoad(names, out string reason);
        Assert.True(api is not null, reason);
        Assert.Equal(names[0], api.LibraryName);
    }

    [Fact]
    public void DefaultLibraryNamesFollowTheOperatingSystem()
    {
        string[] names = CudaDriverApi.DefaultLibraryNames();
        if (OperatingSystem.IsLinux()) Assert.Equal(["libcuda.so.1", "libcuda.so"], names);
        else if (OperatingSystem.IsWindows()) Assert.Equal(["nvcuda.dll"], names);
        else Assert.Empty(names);
    }
}
