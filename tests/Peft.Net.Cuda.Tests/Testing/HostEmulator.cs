using System.Diagnostics;

namespace Peft.Net.Cuda.Tests.Testing;

/// <summary>
/// The g++ builds of the kernel sources (kernels/host/build_host.sh → artifacts/cuda-host/dequant_host and
/// libpeft_fake_cuda.so), built once per test run (again only when a kernel source is newer than the outputs).
/// A missing bash or g++ fails the tests that need it with the build's message; nothing is skipped silently.
/// </summary>
internal static class HostEmulator
{
    private static readonly Lazy<string> s_directory = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Path of the built emulator; builds it on first use.</summary>
    public static string Executable => Path.Combine(s_directory.Value, "dequant_host");

    /// <summary>Path of the fake CUDA driver library (Linux); builds it on first use.</summary>
    public static string FakeDriverLibrary => Path.Combine(s_directory.Value, "libpeft_fake_cuda.so");

    /// <summary>Runs every <c>*.case</c> in <paramref name="directory"/>, writing the matching <c>*.out</c>.</summary>
    public static void RunBatch(string directory) => Run("--batch", directory);

    /// <summary>Runs the emulator with the given arguments; fails with its output when it exits non-zero.</summary>
    public static void Run(params string[] arguments) => RunProcess(Executable, arguments, "dequant_host");

    private static string Build()
    {
        string directory = RepoPaths.HostEmulatorDirectory;
        string[] outputs = [Path.Combine(directory, "dequant_host"), Path.Combine(directory, "libpeft_fake_cuda.so")];
        string sources = RepoPaths.Kernels;
        var newestSource = Directory.EnumerateFiles(sources, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}ptx{Path.DirectorySeparatorChar}"))
            .Max(File.GetLastWriteTimeUtc);
        if (outputs.All(o => File.Exists(o) && File.GetLastWriteTimeUtc(o) > newestSource))
            return directory;
        string script = Path.Combine(sources, "host", "build_host.sh");
        RunProcess("bash", [script, directory], "build_host.sh (host emulation needs bash and g++)");
        foreach (string output in outputs)
            if (!File.Exists(output))
                throw new InvalidOperationException($"build_host.sh finished but {output} does not exist.");
        return directory;
    }

    private static void RunProcess(string fileName, string[] arguments, string what)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
            start.ArgumentList.Add(a);
        // The emulator is built with AddressSanitizer; its note about ucontext fibers is expected.
        start.Environment["ASAN_OPTIONS"] = "detect_leaks=0";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{what}: could not start {fileName}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{what}: cannot run {fileName}: {e.Message}", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException(
                    $"{what} exited with {process.ExitCode}:\n{stdout.Result}\n{stderr}");
        }
    }
}
