namespace Peft.Net.Cuda.Tests.Testing;

/// <summary>Locations in the source tree, found by walking up from the test assembly to the folder holding Peft.Net.sln.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Kernels => Path.Combine(Root, "src", "Peft.Net.Cuda", "kernels");

    public static string HostEmulatorDirectory => Path.Combine(Root, "artifacts", "cuda-host");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Peft.Net.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"Cannot find the repository root (Peft.Net.sln) above {AppContext.BaseDirectory}.");
    }
}
