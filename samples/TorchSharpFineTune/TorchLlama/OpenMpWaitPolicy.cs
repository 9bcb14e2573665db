using System.Runtime.InteropServices;

namespace TorchLlama;

/// <summary>
/// LibTorch's CPU kernels run on OpenMP (libgomp), whose threads by default spin while they wait for each other. On a
/// machine with more runnable threads than cores (other builds, other test assemblies, a CI box) one descheduled thread
/// then stalls the others for whole time slices: measured here, a tiny training step went from 50 ms to 4 s with 2
/// threads on 2 busy cores. <c>OMP_WAIT_POLICY=PASSIVE</c> makes waiting threads sleep instead. libgomp reads the
/// variable once, when LibTorch is loaded, from the native environment — which .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not change on Unix, hence libc's setenv.
/// </summary>
internal static partial class OpenMpWaitPolicy
{
    /// <summary>Sets OMP_WAIT_POLICY=PASSIVE unless the user set a policy; call before the first TorchSharp operation.</summary>
    /// <returns>The policy in force.</returns>
    public static string PreferPassive()
    {
        const string name = "OMP_WAIT_POLICY";
        if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } chosen) return chosen;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            _ = SetEnv(name, "PASSIVE", 0);
        Environment.SetEnvironmentVariable(name, "PASSIVE");
        return "PASSIVE";
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
