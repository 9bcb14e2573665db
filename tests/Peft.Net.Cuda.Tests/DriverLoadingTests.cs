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
    public void EveryExportIsACudaHeaderNameAndResolvesFromAnInstalledDriver()
    {
        // The ABI names of the driver API (cuda.h maps cuMemAlloc → cuMemAlloc_v2 etc.), transcribed from CUDA 12's
        // cuda.h into tests/fixtures/cuda/driver_exports.txt: a misspelt or unversioned name fails here on any machine.
        string fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "cuda", "driver_exports.txt");
        var headerNames = File.ReadAllLines(fixture).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet(StringComparer.Ordinal);
        Assert.All(CudaDriverApi.Exports, name => Assert.True(headerNames.Contains(name), $"{name} is not a cuda.h driver export"));

        // Where a driver is installed (CI installs Debian's nvidia-cuda-toolkit, which brings libcuda1), every export
        // must resolve from it; in CI its absence is a failure, not a pass.
        string[] names = CudaDriverApi.DefaultLibraryNames();
        bool installed = names.Length > 0 && System.Runtime.InteropServices.NativeLibrary.TryLoad(names[0], out IntPtr handle) && Free(handle);
        if (!installed)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true" && OperatingSystem.IsLinux(),
                $"CI installs nvidia-cuda-toolkit (libcuda1), but {string.Join(", ", names)} did not load");
            Assert.Null(CudaDriverApi.TryLoad(names, out string failure));
            Assert.Contains("install the NVIDIA driver", failure);
            return;
        }
        var api = CudaDriverApi.TryLoad(names, out string reason);
        Assert.True(api is not null, reason);
        Assert.Equal(names[0], api.LibraryName);
    }

    private static bool Free(IntPtr handle)
    {
        System.Runtime.InteropServices.NativeLibrary.Free(handle);
        return true;
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
